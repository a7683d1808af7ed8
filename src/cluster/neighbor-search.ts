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
  /** Called after each tile with the number of tiles done and the total. */
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

function similarityGraph(dims: number, nearest: boolean, diagonal: boolean): Uint8Array {
  // uint8 x int8 is MLAS's native (VNNI) integer GEMM; A carries q + 128 with zero point 128.
  const nodes: OnnxNode[] = [{ opType: "MatMulInteger", inputs: ["A", "B", "zp"], outputs: ["S"] }];
  const inputs: OnnxValueInfo[] = [
    { name: "A", elemType: OnnxType.uint8, dims: ["m", dims] },
    { name: "B", elemType: OnnxType.int8, dims: [dims, "n"] },
    { name: "threshold", elemType: OnnxType.int32, dims: [] },
  ];
  let scores = "S";
  if (diagonal) {
    // Pushes self-similarity out of the row maxima and the candidates.
    nodes.push({ opType: "Add", inputs: ["S", "mask"], outputs: ["SM"] });
    inputs.push({ name: "mask", elemType: OnnxType.int32, dims: ["m", "n"] });
    scores = "SM";
  }
  nodes.push(
    { opType: "GreaterOrEqual", inputs: [scores, "threshold"], outputs: ["hit"] },
    { opType: "NonZero", inputs: ["hit"], outputs: ["pairs"] },
  );
  const outputs: OnnxValueInfo[] = [{ name: "pairs", elemType: OnnxType.int64, dims: [2, "k"] }];
  if (nearest) {
    nodes.push({ opType: "ReduceMax", inputs: [scores], outputs: ["rowMax"], attributes: { axes: [1], keepdims: 0 } });
    outputs.push({ name: "rowMax", elemType: OnnxType.int32, dims: ["m"] });
    if (!diagonal) {
      // Off-diagonal tiles stand for their mirror image too: column maxima are the mirror's row maxima.
      nodes.push({ opType: "ReduceMax", inputs: [scores], outputs: ["colMax"], attributes: { axes: [0], keepdims: 0 } });
      outputs.push({ name: "colMax", elemType: OnnxType.int32, dims: ["n"] });
    }
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
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
const { dims, tile, rows, nearest } = workerData;
const rowsU8 = new Uint8Array(workerData.rowsU8);
const blocks = new Int8Array(workerData.blocks);
(async () => {
  const options = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
  const off = await ort.InferenceSession.create(workerData.offModel, options);
  const diag = workerData.diagModel ? await ort.InferenceSession.create(workerData.diagModel, options) : off;
  let thresholdTensor;
  // onnxruntime-node refuses tensors on SharedArrayBuffer memory: copy the tile's operands into
  // buffers of our own, reused for every tile (fresh ones per tile piled up as garbage, ~+60 MiB
  // RSS); the row block is only copied when it changes.
  const aBuffer = new Uint8Array(tile * dims), bBuffer = new Int8Array(tile * dims);
  let mask, aBlock = -1, aTensor;
  // Tasks queue up (the parent keeps two in flight so this thread never waits for it) and run
  // one at a time.
  const queue = [];
  let busy = false;
  parentPort.on("message", (task) => {
    queue.push(task);
    if (!busy) drain();
  });
  async function drain() {
    busy = true;
    while (queue.length > 0) await runTile(queue.shift());
    busy = false;
  }
  async function runTile({ bi, bj, threshold }) {
    try {
      if (!thresholdTensor || thresholdTensor.data[0] !== threshold) {
        thresholdTensor = new ort.Tensor("int32", Int32Array.from([threshold]), []);
      }
      const started = performance.now();
      const r0 = bi * tile, c0 = bj * tile;
      const m = Math.min(tile, rows - r0), w = Math.min(tile, rows - c0);
      const diagonal = bi === bj;
      if (aBlock !== bi) {
        aBuffer.set(rowsU8.subarray(r0 * dims, (r0 + m) * dims));
        aTensor = new ort.Tensor("uint8", aBuffer.subarray(0, m * dims), [m, dims]);
        aBlock = bi;
      }
      bBuffer.set(blocks.subarray(c0 * dims, (c0 + w) * dims));
      const feeds = {
        A: aTensor,
        B: new ort.Tensor("int8", bBuffer.subarray(0, w * dims), [dims, w]),
        threshold: thresholdTensor,
      };
      if (diagonal && nearest) {
        if (!mask || mask.dims[0] !== m) {
          const values = new Int32Array(m * m);
          for (let i = 0; i < m; i++) values[i * m + i] = ${DIAGONAL_MASK};
          mask = new ort.Tensor("int32", values, [m, m]);
        }
        feeds.mask = mask;
      }
      const out = await (diagonal ? diag : off).run(feeds);
      const found = out.pairs.dims[1];
      const index = out.pairs.data;
      const pairs = new Int32Array(2 * found);
      let n = 0;
      for (let p = 0; p < found; p++) {
        const i = r0 + Number(index[p]), j = c0 + Number(index[found + p]);
        // diagonal tiles hold each pair twice and the self pairs
        if (i < j) { pairs[n++] = i; pairs[n++] = j; }
      }
      const result = { bi, bj, pairs: pairs.slice(0, n), seconds: (performance.now() - started) / 1000 };
      if (nearest) {
        result.rowMax = Int32Array.from(out.rowMax.data);
        if (!diagonal) result.colMax = Int32Array.from(out.colMax.data);
      }
      for (const name in out) out[name].dispose();
      parentPort.postMessage(result);
    } catch (error) {
      parentPort.postMessage({ error: String((error && error.stack) || error) });
    }
  }
  parentPort.postMessage({ ready: true });
})().catch((error) => parentPort.postMessage({ error: String((error && error.stack) || error) }));
`;

interface TileResult {
  bi: number;
  bj: number;
  /** Global (i, j) pairs, i < j, that passed the prefilter. */
  pairs: Int32Array;
  rowMax?: Int32Array;
  colMax?: Int32Array;
  seconds: number;
}

/** A worker thread that runs tiles in the order they are sent. */
class TileWorker {
  private readonly worker: Worker;
  private readonly pending: { resolve: (r: TileResult) => void; reject: (e: Error) => void }[] = [];
  readonly ready: Promise<void>;

  constructor(workerData: Record<string, unknown>) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.worker.on("message", (message: TileResult & { ready?: boolean; error?: string }) => {
      if (message.ready) return readyResolve();
      if (message.error) {
        const error = new Error(`cluster: similarity worker failed: ${message.error}`);
        readyReject(error);
        for (const pending of this.pending.splice(0)) pending.reject(error);
      } else this.pending.shift()?.resolve(message);
    });
    this.worker.on("error", (error) => {
      readyReject(error);
      for (const pending of this.pending.splice(0)) pending.reject(error);
    });
  }

  run(bi: number, bj: number, threshold: number): Promise<TileResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker.postMessage({ bi, bj, threshold });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

export async function searchNeighbors(params: NeighborSearchParams): Promise<NeighborSearchResult> {
  const { prepared, minSimilarity, onPair } = params;
  const { rows, dims } = prepared;
  // 512-row tiles keep the int32 tile (1 MiB) in L2 for the threshold and reductions that follow
  // the GEMM: 1.3-1.9 s of onnxruntime time at 28k against 4.4 s with 2048-row tiles.
  const tile = params.tileRows ?? 512;
  const wantNearest = params.nearestNeighbors ?? false;
  if (dims * 127 * 127 >= 2 ** 31) throw new Error(`cluster: ${dims} dimensions overflow the int32 prefilter`);

  const started = performance.now();
  const blockCount = Math.ceil(rows / tile);
  const tasks: [number, number][] = [];
  for (let bi = 0; bi < blockCount; bi++) for (let bj = bi; bj < blockCount; bj++) tasks.push([bi, bj]);
  const workerCount = Math.max(1, Math.min(params.threads ?? 2, tasks.length));
  // Workers start (load onnxruntime, build sessions) while this thread quantises into the
  // shared arrays they will read.
  const rowsU8 = new Uint8Array(new SharedArrayBuffer(rows * dims));
  const blocks = new Int8Array(new SharedArrayBuffer(rows * dims));
  const workerData = {
    ortPath: createRequire(import.meta.url).resolve("onnxruntime-node"),
    dims,
    tile,
    rows,
    nearest: wantNearest,
    rowsU8: rowsU8.buffer,
    blocks: blocks.buffer,
    offModel: similarityGraph(dims, wantNearest, false),
    diagModel: wantNearest ? similarityGraph(dims, true, true) : undefined,
  };
  const workers = Array.from({ length: workerCount }, () => new TileWorker(workerData));

  const quantizeStarted = performance.now();
  const quantized = quantize(prepared, tile, rowsU8, blocks);
  const quantizeSeconds = (performance.now() - quantizeStarted) / 1000;
  let ortSeconds = 0;
  const { scale, margin } = quantized;
  const scale2 = scale * scale;
  // Exact s >= minSimilarity implies integer dot >= scale^2 (minSimilarity - margin); -1 absorbs
  // the rounding of that product.
  const threshold = Math.max(-(2 ** 31) + 1, Math.floor(scale2 * (minSimilarity - margin)) - 1);

  const bestExact = new Float64Array(wantNearest ? rows : 0).fill(-Infinity);
  const bestApprox = new Int32Array(wantNearest ? rows : 0).fill(-(2 ** 31));
  let tiles = 0;
  let candidates = 0;
  const absorb = (result: TileResult) => {
    ortSeconds += result.seconds;
    const pairs = result.pairs;
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
    if (wantNearest) {
      const r0 = result.bi * tile;
      const rowMax = result.rowMax!;
      for (let i = 0; i < rowMax.length; i++) if (rowMax[i]! > bestApprox[r0 + i]!) bestApprox[r0 + i] = rowMax[i]!;
      if (result.colMax) {
        const c0 = result.bj * tile;
        const colMax = result.colMax;
        for (let j = 0; j < colMax.length; j++) if (colMax[j]! > bestApprox[c0 + j]!) bestApprox[c0 + j] = colMax[j]!;
      }
    }
    tiles++;
    params.onTile?.(tiles, tasks.length);
  };

  try {
    await Promise.all(workers.map((w) => w.ready));
    let next = 0;
    const take = (worker: TileWorker) => {
      const [bi, bj] = tasks[next++]!;
      return worker.run(bi, bj, threshold);
    };
    await Promise.all(
      workers.map(async (worker) => {
        // Two tasks in flight per worker: it starts the next tile while we absorb the last one.
        const inFlight: Promise<TileResult>[] = [];
        while (inFlight.length < 2 && next < tasks.length) inFlight.push(take(worker));
        while (inFlight.length > 0) {
          absorb(await inFlight.shift()!);
          if (next < tasks.length) inFlight.push(take(worker));
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }

  let nearest: Float64Array | undefined;
  if (wantNearest) {
    nearest = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      // Every pair with exact s >= minSimilarity was re-scored, so a re-scored best at or above it
      // is the true maximum; otherwise the int8 estimate is the best we know.
      if (rows === 1) nearest[i] = NaN;
      else if (bestExact[i]! >= minSimilarity) nearest[i] = bestExact[i]!;
      else nearest[i] = Math.min(bestApprox[i]! / scale2, minSimilarity);
    }
  }
  const timings = { quantize: quantizeSeconds, onnxruntime: ortSeconds, total: (performance.now() - started) / 1000 };
  return { nearest, quantizationMargin: margin, candidates, tiles, timings };
}
