/**
 * Exact all-pairs neighbour search without an n x n matrix: the upper triangle of the similarity
 * matrix is computed tile by tile on onnxruntime with an int8 `MatMulInteger` prefilter whose
 * threshold is lowered by a proven bound on the quantisation error, and every candidate is
 * re-scored in float64 from the unit rows (../shared/docs/reference-pipeline.md, "What is measured
 * here": the int8 prefilter is the fastest exact route measured on this machine).
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { buildOnnxModel, OnnxType } from "./onnx-model.ts";
import type { OnnxNode, OnnxValueInfo } from "./onnx-model.ts";
import type { PreparedEmbeddings } from "./prepare-embeddings.ts";

export interface NeighborSearchParams {
  /** Normalised rows and their exact similarity. */
  prepared: PreparedEmbeddings;
  /** Every pair whose exact similarity is >= this is passed to `onPair` (some below it may be too). */
  minSimilarity: number;
  /** Called once per unordered pair i < j that passed the prefilter, with its exact similarity. */
  onPair: (i: number, j: number, similarity: number) => void;
  /** Also find each row's nearest-neighbour similarity (excluding itself). */
  nearestNeighbors?: boolean;
  /** Rows per tile (the tile is tileRows x tileRows int32 while it exists); default 512. */
  tileRows?: number;
  /** Tile workers, each running onnxruntime on one thread (2 on the team's 2-core machine). */
  threads?: number;
  /** Workers started earlier (see `SimilarityWorkers`); this search uses and stops them. Default: `threads` new ones. */
  workers?: SimilarityWorkers;
  /** Called once per tile done (in batches, every 0.1 s) with the number of tiles done and the total. */
  onTile?: (done: number, total: number) => void;
}

export interface NeighborSearchResult {
  /**
   * Per row, the largest similarity to another row (NaN when n = 1). Exact (float64 re-scored)
   * where >= `minSimilarity`; below it taken from the int8 pass, within `quantizationMargin`.
   */
  nearest?: Float64Array;
  /** Bound on |exact - int8 estimate| of any similarity. */
  quantizationMargin: number;
  /** Pairs the prefilter let through (re-scored). */
  candidates: number;
  /** Tiles computed. */
  tiles: number;
  /** Seconds: quantising, tile work summed over the workers, and the whole search (wall). */
  timings: { quantize: number; onnxruntime: number; total: number };
}

const DIAGONAL_MASK = -(2 ** 30);

/**
 * An off-diagonal tile whose rows and columns at or above the threshold number at most this many
 * pairs hands all of them to re-scoring (~0.5 us each) instead of running the NonZero graph again
 * (~1 ms per 512-row tile).
 */
const CROSS_LIMIT = 1024;

/** Pairs a worker collects before handing them over (keeps memory O(n) for any eps). */
const FLUSH_PAIRS = 1 << 16;

interface GraphParts {
  /** Add a mask input that pushes self-similarity out of the row maxima and the candidates. */
  mask?: boolean;
  /** Emit the (row, column) indices at or above the `threshold` input (NonZero, int64 [2, k]). */
  pairs?: boolean;
  /** Emit row maxima. */
  rowMax?: boolean;
  /** Emit column maxima. */
  colMax?: boolean;
}

function similarityGraph(dims: number, parts: GraphParts): Uint8Array {
  // uint8 x int8 is MLAS's native (VNNI) integer GEMM; A carries q + 128 with zero point 128.
  const nodes: OnnxNode[] = [{ opType: "MatMulInteger", inputs: ["A", "B", "zp"], outputs: ["S"] }];
  const inputs: OnnxValueInfo[] = [
    { name: "A", elemType: OnnxType.uint8, dims: ["m", dims] },
    { name: "B", elemType: OnnxType.int8, dims: [dims, "n"] },
  ];
  const outputs: OnnxValueInfo[] = [];
  let scores = "S";
  if (parts.mask) {
    nodes.push({ opType: "Add", inputs: ["S", "mask"], outputs: ["SM"] });
    inputs.push({ name: "mask", elemType: OnnxType.int32, dims: ["m", "n"] });
    scores = "SM";
  }
  if (parts.pairs) {
    inputs.push({ name: "threshold", elemType: OnnxType.int32, dims: [] });
    nodes.push(
      { opType: "GreaterOrEqual", inputs: [scores, "threshold"], outputs: ["hit"] },
      { opType: "NonZero", inputs: ["hit"], outputs: ["pairs"] },
    );
    outputs.push({ name: "pairs", elemType: OnnxType.int64, dims: [2, "k"] });
  }
  if (parts.rowMax) {
    nodes.push({ opType: "ReduceMax", inputs: [scores], outputs: ["rowMax"], attributes: { axes: [1], keepdims: 0 } });
    outputs.push({ name: "rowMax", elemType: OnnxType.int32, dims: ["m"] });
  }
  if (parts.colMax) {
    nodes.push({ opType: "ReduceMax", inputs: [scores], outputs: ["colMax"], attributes: { axes: [0], keepdims: 0 } });
    outputs.push({ name: "colMax", elemType: OnnxType.int32, dims: ["n"] });
  }
  return buildOnnxModel({
    nodes,
    inputs,
    outputs,
    initializers: [{ name: "zp", elemType: OnnxType.uint8, dims: [], raw: new Uint8Array([128]) }],
  });
}

interface Quantized {
  /** q + 128 per value, row-major [rows, dims], shared with the tile workers. */
  rowsU8: Uint8Array;
  /** q transposed in column blocks, block b = [dims, width_b] at offset b * tile * dims, shared. */
  blocks: Int8Array;
  scale: number;
  margin: number;
}

/**
 * One global scale so the integer dot product compares with one threshold. For unit rows x, y and
 * their quantisations x~ = q/scale, |x.y - x~.y~| <= |x - x~| |y| + |y - y~| |x~|, so with e the
 * largest rounding error norm the bound is e + e (1 + e).
 */
function quantize(prepared: PreparedEmbeddings, tile: number, rowsU8: Uint8Array, blocks: Int8Array): Quantized {
  const { unit, rows, dims } = prepared;
  // The stored float32 rows are exactly what `unit` holds, so maxAbs bounds every |v| below.
  const maxAbs = prepared.maxAbs;
  const scale = maxAbs > 0 ? 127 / maxAbs : 1;
  // One loop per element type keeps V8's element access monomorphic (3-4x faster).
  const worstSquared =
    unit instanceof Float32Array
      ? quantizeRows32(unit, rows, dims, scale, rowsU8)
      : quantizeRows64(unit, rows, dims, scale, rowsU8);
  const worst = Math.sqrt(worstSquared);
  // 1e-6 covers the float64 rounding of the bound itself and of |y| <= 1.
  const margin = worst * (2 + worst) + 1e-6;
  transposeBlocks(rowsU8, blocks, rows, dims, tile);
  return { rowsU8, blocks, scale, margin };
}

/** Adding and subtracting 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer, far faster than Math.round. */
const ROUNDER = 6755399441055744;

/**
 * Writes q + 128 per value (|v| * scale <= 127 by the choice of scale, so no clamping is needed)
 * and returns the largest squared rounding-error norm of a row, |x - q / scale|^2.
 */
function quantizeRows32(unit: Float32Array, rows: number, dims: number, scale: number, out: Uint8Array): number {
  const inverse = 1 / scale;
  let worst = 0;
  for (let r = 0, at = 0; r < rows; r++) {
    let err = 0;
    for (const end = at + dims; at < end; at++) {
      const v = unit[at]!;
      const q = v * scale + ROUNDER - ROUNDER;
      out[at] = q + 128;
      const e = v - q * inverse;
      err += e * e;
    }
    if (err > worst) worst = err;
  }
  return worst;
}

function quantizeRows64(unit: Float64Array, rows: number, dims: number, scale: number, out: Uint8Array): number {
  const inverse = 1 / scale;
  let worst = 0;
  for (let r = 0, at = 0; r < rows; r++) {
    let err = 0;
    for (const end = at + dims; at < end; at++) {
      const v = unit[at]!;
      const q = v * scale + ROUNDER - ROUNDER;
      out[at] = q + 128;
      const e = v - q * inverse;
      err += e * e;
    }
    if (err > worst) worst = err;
  }
  return worst;
}

/** Column block b = the rows of tile b transposed to [dims, width], in 16-row strips to stay in cache. */
function transposeBlocks(rowsU8: Uint8Array, blocks: Int8Array, rows: number, dims: number, tile: number): void {
  for (let start = 0; start < rows; start += tile) {
    const width = Math.min(tile, rows - start);
    const base = start * dims;
    for (let c0 = 0; c0 < width; c0 += 16) {
      const c1 = Math.min(width, c0 + 16);
      for (let k = 0; k < dims; k++) {
        let at = base + k * width + c0;
        for (let c = c0, src = base + c0 * dims + k; c < c1; c++, src += dims) blocks[at++] = rowsU8[src]! - 128;
      }
    }
  }
}

/**
 * The tile worker, plain JavaScript evaluated in a worker thread (it needs nothing but
 * onnxruntime-node, so no TypeScript loader has to exist inside the worker). One intra-op thread
 * per worker and one worker per core: measured on 512-row tiles, a single session with 2 intra-op
 * threads kept only one core busy (CPU time = wall time per tile).
 *
 * Workers take tiles from a shared counter and keep their own row maxima, so no message is
 * exchanged per tile (a message per tile cost ~0.3 s per worker at 28k). Diagonal tiles run
 * GEMM -> GreaterOrEqual -> NonZero. Off-diagonal tiles, where pairs are rare, run GEMM -> row and
 * column ReduceMax only (GreaterOrEqual + NonZero cost ~40 % of the tile); every pair at or above
 * the threshold lies in (rows whose max passes) x (columns whose max passes), so that cross product
 * is the candidate set, or, when it is large, the tile is run again through the NonZero graph.
 *
 * The per-tile code is a handful of small functions over module-level state, and the operand
 * tensors are made once and refilled: V8 optimises a hot function together with everything it
 * inlines, and when the whole loop (with onnxruntime's Tensor constructor inlined) lived in one
 * async function, TurboFan spent ~100 ms of CPU per worker compiling it three times over, on the
 * same two cores the tiles need (seen with --trace-opt at 28k).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
const nextMessage = () => new Promise((resolve) => parentPort.once("message", resolve));
const options = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};

let pairs = new Int32Array(2 * ${FLUSH_PAIRS});
let pairCount = 0;
function push(i, j) {
  if (2 * pairCount + 2 > pairs.length) {
    const grown = new Int32Array(pairs.length * 2);
    grown.set(pairs);
    pairs = grown;
  }
  pairs[2 * pairCount] = i;
  pairs[2 * pairCount + 1] = j;
  pairCount++;
}
function flush() {
  if (pairCount === 0) return;
  const out = pairs.slice(0, 2 * pairCount);
  parentPort.postMessage({ pairs: out }, [out.buffer]);
  pairCount = 0;
}

// Fault in this worker's share of the quantisation buffers while the parent normalises (fresh
// memory costs ~3.5 ms per MiB in page faults on the team's VM). A compare-exchange of 0 with 0
// writes nothing, so it cannot clobber a value the parent has already stored there.
function prefault(shared, index, of) {
  const bytes = new Int8Array(shared);
  const share = Math.ceil(bytes.length / of / 4096) * 4096;
  const end = Math.min(bytes.length, (index + 1) * share);
  for (let at = index * share; at < end; at += 4096) Atomics.compareExchange(bytes, at, 0, 0);
}

// The search, set once by setup().
let dims, tile, rows, nearest, tasks, taskCount, rowsU8, blocks, counters;
let diag, off, offPairs, offPairsModel, threshold, thresholdTensor, best;
// onnxruntime-node refuses tensors on SharedArrayBuffer memory: the tile's operands are copied
// into buffers of our own, under tensors made once per shape; the row block is only copied when
// it changes.
let aBuffer, bBuffer, hitRows, hitCols;
const aTensors = new Map(), bTensors = new Map(), masks = new Map();
let aBlock = -1;
// The current tile: its first row and column, height and width.
let r0 = 0, c0 = 0, m = 0, w = 0;

function tensorOver(cache, type, buffer, count) {
  let tensor = cache.get(count);
  if (!tensor) {
    const dimsOf = type === "uint8" ? [count, dims] : [dims, count];
    tensor = new ort.Tensor(type, buffer.subarray(0, count * dims), dimsOf);
    cache.set(count, tensor);
  }
  return tensor;
}

/** Sets the current tile and copies its operands in. */
function loadOperands(bi, bj) {
  r0 = bi * tile;
  c0 = bj * tile;
  m = Math.min(tile, rows - r0);
  w = Math.min(tile, rows - c0);
  if (aBlock !== bi) {
    aBuffer.set(rowsU8.subarray(r0 * dims, (r0 + m) * dims));
    aBlock = bi;
  }
  bBuffer.set(blocks.subarray(c0 * dims, (c0 + w) * dims));
}

function operands() {
  return { A: tensorOver(aTensors, "uint8", aBuffer, m), B: tensorOver(bTensors, "int8", bBuffer, w) };
}

function diagonalFeeds() {
  const feeds = operands();
  feeds.threshold = thresholdTensor;
  if (nearest) {
    let mask = masks.get(m);
    if (!mask) {
      const values = new Int32Array(m * m);
      for (let i = 0; i < m; i++) values[i * m + i] = ${DIAGONAL_MASK};
      mask = new ort.Tensor("int32", values, [m, m]);
      masks.set(m, mask);
    }
    feeds.mask = mask;
  }
  return feeds;
}

function takeDiagonal(out) {
  const found = out.pairs.dims[1];
  const index = out.pairs.data;
  for (let p = 0; p < found; p++) {
    const i = Number(index[p]), j = Number(index[found + p]);
    // diagonal tiles hold each pair twice and the self pairs
    if (i < j) push(r0 + i, r0 + j);
  }
  if (nearest) {
    // the tile is symmetric: its row maxima are its column maxima
    const rowMax = out.rowMax.data;
    for (let i = 0; i < m; i++) if (rowMax[i] > best[r0 + i]) best[r0 + i] = rowMax[i];
  }
}

/** Takes an off-diagonal tile's maxima; true when its candidates need the NonZero graph. */
function takeOffDiagonal(out) {
  const rowMax = out.rowMax.data, colMax = out.colMax.data;
  let nr = 0, nc = 0;
  for (let i = 0; i < m; i++) {
    const v = rowMax[i];
    if (v >= threshold) hitRows[nr++] = i;
    if (nearest && v > best[r0 + i]) best[r0 + i] = v;
  }
  for (let j = 0; j < w; j++) {
    const v = colMax[j];
    if (v >= threshold) hitCols[nc++] = j;
    if (nearest && v > best[c0 + j]) best[c0 + j] = v;
  }
  if (nr === 0 || nc === 0) return false;
  if (nr * nc > ${CROSS_LIMIT}) return true;
  for (let a = 0; a < nr; a++) for (let b = 0; b < nc; b++) push(r0 + hitRows[a], c0 + hitCols[b]);
  return false;
}

function takePairs(out) {
  const found = out.pairs.dims[1];
  const index = out.pairs.data;
  for (let p = 0; p < found; p++) push(r0 + Number(index[p]), c0 + Number(index[found + p]));
}

async function runTiles() {
  let seconds = 0, done = 0;
  for (;;) {
    const t = Atomics.add(counters, 0, 1);
    if (t >= taskCount) break;
    const started = performance.now();
    const bi = tasks[2 * t], bj = tasks[2 * t + 1];
    loadOperands(bi, bj);
    if (bi === bj) {
      takeDiagonal(await diag.run(diagonalFeeds()));
    } else if (takeOffDiagonal(await off.run(operands()))) {
      offPairs ??= await ort.InferenceSession.create(offPairsModel, options);
      const feeds = operands();
      feeds.threshold = thresholdTensor;
      takePairs(await offPairs.run(feeds));
    }
    seconds += (performance.now() - started) / 1000;
    done++;
    Atomics.add(counters, 1, 1);
    if (pairCount >= ${FLUSH_PAIRS}) flush();
  }
  return { seconds, tiles: done };
}

async function main() {
  // A one-node session initialises onnxruntime while the parent still reads and normalises.
  await ort.InferenceSession.create(workerData.warmModel, options);
  for (const shared of workerData.prefault ?? []) prefault(shared, workerData.index, workerData.of);
  const setup = await nextMessage();
  ({ dims, tile, rows, nearest, tasks } = setup);
  taskCount = tasks.length / 2;
  rowsU8 = new Uint8Array(setup.rowsU8);
  blocks = new Int8Array(setup.blocks);
  // [next task, tiles done]
  counters = new Int32Array(setup.counters);
  offPairsModel = setup.offPairsModel;
  diag = await ort.InferenceSession.create(setup.diagModel, options);
  off = await ort.InferenceSession.create(setup.offModel, options);
  aBuffer = new Uint8Array(tile * dims);
  bBuffer = new Int8Array(tile * dims);
  hitRows = new Int32Array(tile);
  hitCols = new Int32Array(tile);
  parentPort.postMessage({ ready: true });
  ({ threshold } = await nextMessage());
  thresholdTensor = new ort.Tensor("int32", Int32Array.from([threshold]), []);
  best = nearest ? new Int32Array(rows).fill(-(2 ** 31)) : undefined;
  const { seconds, tiles } = await runTiles();
  flush();
  parentPort.postMessage({ done: true, best, seconds, tiles });
}
main().catch((error) => parentPort.postMessage({ error: String((error && error.stack) || error) }));
`;

interface WorkerDone {
  /** Per row, the largest int8 score the worker saw (when nearest neighbours are wanted). */
  best?: Int32Array;
  seconds: number;
  tiles: number;
}

type WorkerMessage = { ready?: true; error?: string; pairs?: Int32Array; done?: true } & Partial<WorkerDone>;

/** A worker thread that loads onnxruntime at once, then takes tiles from the shared counter once given the data and the threshold. */
class TileWorker {
  private readonly worker: Worker;
  private onPairs: (pairs: Int32Array) => void = () => {};
  private readyResolve!: () => void;
  private readyReject!: (e: Error) => void;
  private doneResolve!: (done: WorkerDone) => void;
  private doneReject!: (e: Error) => void;
  readonly ready: Promise<void>;
  readonly finished: Promise<WorkerDone>;

  /** `prefault`: shared buffers whose `index`-th of `of` shares this worker faults in. */
  constructor(prefault: SharedArrayBuffer[], index: number, of: number) {
    const workerData = {
      ortPath: createRequire(import.meta.url).resolve("onnxruntime-node"),
      warmModel: similarityGraph(1, { rowMax: true }),
      prefault,
      index,
      of,
    };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.finished = new Promise((resolve, reject) => {
      this.doneResolve = resolve;
      this.doneReject = reject;
    });
    // Both are awaited only after setup; a failure before then rejects them for that moment.
    this.ready.catch(() => {});
    this.finished.catch(() => {});
    const fail = (error: Error) => {
      this.readyReject(error);
      this.doneReject(error);
    };
    this.worker.on("message", (message: WorkerMessage) => {
      if (message.ready) this.readyResolve();
      else if (message.error) fail(new Error(`cluster: similarity worker failed: ${message.error}`));
      else if (message.pairs) {
        try {
          this.onPairs(message.pairs);
        } catch (error) {
          fail(error as Error);
        }
      } else if (message.done) {
        this.doneResolve({ best: message.best, seconds: message.seconds ?? 0, tiles: message.tiles ?? 0 });
      }
    });
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`cluster: similarity worker exited (${code})`)));
  }

  /** Hands over the shared rows, the tile list and the graphs; `ready` resolves once its sessions exist. */
  setup(data: Record<string, unknown>, onPairs: (pairs: Int32Array) => void): void {
    this.onPairs = onPairs;
    this.worker.postMessage(data);
  }

  start(threshold: number): void {
    this.worker.postMessage({ threshold });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Similarity workers started ahead of the data, so that loading onnxruntime (~0.3 s of CPU per
 * worker) overlaps reading and normalising the embeddings. One search uses them up.
 */
export class SimilarityWorkers {
  /** @internal */
  readonly workers: TileWorker[];
  private used = false;

  /** Starts `threads` workers (2 on the team's 2-core machine). */
  /** The quantised rows and column blocks of a search over `shape`, allocated (and faulted in by the workers) early. */
  readonly buffers?: { rows: number; dims: number; rowsU8: Uint8Array; blocks: Int8Array };

  /**
   * Starts `threads` workers (2 on the team's 2-core machine); with the `shape` of the embeddings
   * they also fault in the search's buffers while the caller normalises.
   */
  constructor(threads = 2, shape?: { rows: number; dims: number }) {
    if (shape) {
      const size = shape.rows * shape.dims;
      this.buffers = {
        ...shape,
        rowsU8: new Uint8Array(new SharedArrayBuffer(size)),
        blocks: new Int8Array(new SharedArrayBuffer(size)),
      };
    }
    const prefault = this.buffers ? [this.buffers.rowsU8.buffer as SharedArrayBuffer, this.buffers.blocks.buffer as SharedArrayBuffer] : [];
    const count = Math.max(1, threads);
    this.workers = Array.from({ length: count }, (_, index) => new TileWorker(prefault, index, count));
  }

  /** @internal Hands the workers to one search. */
  take(): TileWorker[] {
    if (this.used) throw new Error("cluster: similarity workers already used by a search");
    this.used = true;
    return this.workers;
  }

  /** Stops the workers (a search stops those it used; this is for when none ran). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

export async function searchNeighbors(params: NeighborSearchParams): Promise<NeighborSearchResult> {
  const { prepared, minSimilarity, onPair } = params;
  const { rows, dims } = prepared;
  // 512-row tiles keep the int32 tile (1 MiB) in L2 for the reductions that follow the GEMM:
  // 1.3-1.9 s of onnxruntime time at 28k against 4.4 s with 2048-row tiles.
  const tile = params.tileRows ?? 512;
  const wantNearest = params.nearestNeighbors ?? false;
  if (dims * 127 * 127 >= 2 ** 31) {
    await params.workers?.close();
    throw new Error(`cluster: ${dims} dimensions overflow the int32 prefilter`);
  }

  const started = performance.now();
  const blockCount = Math.ceil(rows / tile);
  const tasks = new Int32Array(blockCount * (blockCount + 1));
  let taskCount = 0;
  for (let bi = 0; bi < blockCount; bi++) {
    for (let bj = bi; bj < blockCount; bj++) {
      tasks[2 * taskCount] = bi;
      tasks[2 * taskCount + 1] = bj;
      taskCount++;
    }
  }
  // Workers start (load onnxruntime, build sessions) while this thread quantises into the
  // shared arrays they will read.
  const pool = params.workers ?? new SimilarityWorkers(Math.min(params.threads ?? 2, taskCount));
  const early = pool.buffers?.rows === rows && pool.buffers.dims === dims ? pool.buffers : undefined;
  const rowsU8 = early?.rowsU8 ?? new Uint8Array(new SharedArrayBuffer(rows * dims));
  const blocks = early?.blocks ?? new Int8Array(new SharedArrayBuffer(rows * dims));
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const setup = {
    dims,
    tile,
    rows,
    nearest: wantNearest,
    tasks,
    rowsU8: rowsU8.buffer,
    blocks: blocks.buffer,
    counters: counters.buffer,
    diagModel: similarityGraph(dims, { mask: wantNearest, pairs: true, rowMax: wantNearest }),
    offModel: similarityGraph(dims, { rowMax: true, colMax: true }),
    offPairsModel: similarityGraph(dims, { pairs: true }),
  };

  const bestExact = new Float64Array(wantNearest ? rows : 0).fill(-Infinity);
  let candidates = 0;
  const absorb = (pairs: Int32Array) => {
    for (let p = 0; p < pairs.length; p += 2) {
      const i = pairs[p]!;
      const j = pairs[p + 1]!;
      candidates++;
      const s = prepared.similarity(i, j);
      if (wantNearest) {
        if (s > bestExact[i]!) bestExact[i] = s;
        if (s > bestExact[j]!) bestExact[j] = s;
      }
      if (s >= minSimilarity) onPair(i, j, s);
    }
  };
  const workers = pool.take();
  for (const worker of workers) worker.setup(setup, absorb);

  const quantizeStarted = performance.now();
  const quantized = quantize(prepared, tile, rowsU8, blocks);
  const quantizeSeconds = (performance.now() - quantizeStarted) / 1000;
  const { scale, margin } = quantized;
  const scale2 = scale * scale;
  // Exact s >= minSimilarity implies integer dot >= scale^2 (minSimilarity - margin); -1 absorbs
  // the rounding of that product.
  const threshold = Math.max(-(2 ** 31) + 1, Math.floor(scale2 * (minSimilarity - margin)) - 1);

  let done: WorkerDone[];
  let progress: ReturnType<typeof setInterval> | undefined;
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const worker of workers) worker.start(threshold);
    const onTile = params.onTile;
    if (onTile) {
      let reported = 0;
      // One call per tile, as before tiles were counted in shared memory.
      const report = (upTo: number) => {
        while (reported < upTo) onTile(++reported, taskCount);
      };
      progress = setInterval(() => report(Atomics.load(counters, 1)), 100);
      done = await Promise.all(workers.map((w) => w.finished));
      report(taskCount);
    } else {
      done = await Promise.all(workers.map((w) => w.finished));
    }
  } finally {
    if (progress) clearInterval(progress);
    await Promise.all(workers.map((w) => w.close()));
  }

  let nearest: Float64Array | undefined;
  if (wantNearest) {
    const bestApprox = new Int32Array(rows).fill(-(2 ** 31));
    for (const { best } of done) {
      for (let i = 0; i < rows; i++) if (best![i]! > bestApprox[i]!) bestApprox[i] = best![i]!;
    }
    nearest = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      // Every pair with exact s >= minSimilarity was re-scored, so a re-scored best at or above it
      // is the true maximum; otherwise the int8 estimate is the best we know.
      if (rows === 1) nearest[i] = NaN;
      else if (bestExact[i]! >= minSimilarity) nearest[i] = bestExact[i]!;
      else nearest[i] = Math.min(bestApprox[i]! / scale2, minSimilarity);
    }
  }
  const ortSeconds = done.reduce((sum, d) => sum + d.seconds, 0);
  const tiles = done.reduce((sum, d) => sum + d.tiles, 0);
  const timings = { quantize: quantizeSeconds, onnxruntime: ortSeconds, total: (performance.now() - started) / 1000 };
  return { nearest, quantizationMargin: margin, candidates, tiles, timings };
}
