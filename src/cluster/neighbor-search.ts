/**
 * Exact all-pairs neighbour search without an n x n matrix: the upper triangle of the similarity
 * matrix is computed tile by tile on onnxruntime with an int8 `MatMulInteger` prefilter whose
 * threshold is lowered by a proven bound on the quantisation error, and every candidate is
 * re-scored in float64 from the unit rows (../shared/docs/reference-pipeline.md, "What is measured
 * here": the int8 prefilter is the fastest exact route measured on this machine).
 */
import { createRequire } from "node:module";
import { MessageChannel, Worker } from "node:worker_threads";
import { buildOnnxModel, OnnxType } from "./onnx-model.ts";
import type { OnnxNode, OnnxValueInfo } from "./onnx-model.ts";
import { badValue, checkEmbeddings, describeEmbeddings } from "./prepare-embeddings.ts";
import * as rowKernels from "./row-kernels.js";
import { normalizeShare, quantizeShare } from "./row-kernels.js";
import type { NormalizeJob, QuantizeJob, SharedRows } from "./row-kernels.js";
import type { EmbeddingMatrix, PreparedEmbeddings } from "./prepare-embeddings.ts";

export interface NeighborSearchParams {
  /** Normalised rows and their exact similarity. */
  prepared: PreparedEmbeddings;
  /** Exactly the pairs whose exact similarity is >= this are passed to `onPair`. */
  minSimilarity: number;
  /** Called once per unordered pair i < j whose exact similarity is >= minSimilarity, with that similarity. */
  onPair: (i: number, j: number, similarity: number) => void;
  /** Also find each row's nearest-neighbour similarity (excluding itself). */
  nearestNeighbors?: boolean;
  /** Rows per tile (the tile is tileRows x tileRows int32 while it exists); default 512. */
  tileRows?: number;
  /** Tile runners, each running onnxruntime on one thread: this thread and threads - 1 workers (2 on the team's 2-core machine). */
  threads?: number;
  /** Runners started earlier (see `SimilarityWorkers`); this search uses and stops them. Default: `threads` new ones. */
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
  /**
   * Emit the pairs at or above the `threshold` input among just the rows whose maximum passes
   * (`Compress`): those rows' indices (int64 [1, r]) and (index among them, column) pairs (int64
   * [2, k]). Off-diagonal tiles hold few such rows, so this costs a few small nodes where NonZero
   * over the whole tile cost ~40 % of it.
   */
  passedRows?: boolean;
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
  if (parts.pairs || parts.passedRows) inputs.push({ name: "threshold", elemType: OnnxType.int32, dims: [] });
  if (parts.pairs) {
    nodes.push(
      { opType: "GreaterOrEqual", inputs: [scores, "threshold"], outputs: ["hit"] },
      { opType: "NonZero", inputs: ["hit"], outputs: ["pairs"] },
    );
    outputs.push({ name: "pairs", elemType: OnnxType.int64, dims: [2, "k"] });
  }
  if (parts.rowMax || parts.passedRows) {
    nodes.push({ opType: "ReduceMax", inputs: [scores], outputs: ["rowMax"], attributes: { axes: [1], keepdims: 0 } });
  }
  if (parts.rowMax) outputs.push({ name: "rowMax", elemType: OnnxType.int32, dims: ["m"] });
  if (parts.passedRows) {
    nodes.push(
      { opType: "GreaterOrEqual", inputs: ["rowMax", "threshold"], outputs: ["rowPassed"] },
      { opType: "NonZero", inputs: ["rowPassed"], outputs: ["passedRows"] },
      { opType: "Compress", inputs: [scores, "rowPassed"], outputs: ["passedScores"], attributes: { axis: 0 } },
      { opType: "GreaterOrEqual", inputs: ["passedScores", "threshold"], outputs: ["passedHit"] },
      { opType: "NonZero", inputs: ["passedHit"], outputs: ["passedPairs"] },
    );
    outputs.push(
      { name: "passedRows", elemType: OnnxType.int64, dims: [1, "r"] },
      { name: "passedPairs", elemType: OnnxType.int64, dims: [2, "k"] },
    );
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

/**
 * The tile runner, plain JavaScript (it needs only onnxruntime-node and row-kernels.js, so no
 * TypeScript loader has to exist where it runs): the body of a function of `port` (its message
 * port), `workerData`, `require` and `kernels` (row-kernels.js). It runs in worker threads and
 * once on the calling thread itself: a worker thread costs ~55-130 ms of start-up (Node's own
 * bootstrap) before it can even load onnxruntime, and the calling thread is otherwise idle while
 * the workers work. One intra-op thread per runner and one runner per core: measured on 512-row
 * tiles, a single session with 2 intra-op threads kept only one core busy.
 *
 * A runner loads onnxruntime and makes its sessions as soon as it starts (while the file is still
 * being read), then takes, in order: `normalize` and `search`, where it joins in normalising, then
 * quantising, pieces taken from shared counters (row-kernels.js: a runner still starting leaves
 * them to the others), and once given the integer threshold it takes tiles from a shared counter,
 * keeping its own row maxima, so no message is exchanged per tile (a message per tile cost ~0.3 s
 * per worker at 28k). Diagonal tiles run GEMM -> GreaterOrEqual -> NonZero. Off-diagonal tiles,
 * where pairs are rare, run GEMM -> row ReduceMax, then GreaterOrEqual + NonZero on just the rows
 * whose maximum passes (Compress), since NonZero over the whole tile cost ~40 % of it; the column
 * ReduceMax only when nearest-neighbour statistics are wanted (~20 % of a tile). Crossing the
 * passing rows with the passing columns instead gave 0.6 M candidates at 28k in a real source's
 * row order (identities interleaved), against 31 k exact int8 candidates this way.
 *
 * The per-tile code is a handful of small functions over state declared once in the body, and
 * the operand tensors are made once and refilled: V8 optimises a hot function together with
 * everything it inlines, and when the whole loop (with onnxruntime's Tensor constructor inlined)
 * lived in one async function, TurboFan spent ~100 ms of CPU per worker compiling it three times
 * over, on the same two cores the tiles need (seen with --trace-opt at 28k).
 */
const RUNNER_BODY = `
const ort = require(workerData.ortPath);
const options = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};
// onnxruntime-node's native binding runs a session synchronously (its dist/binding.d.ts: "a
// simple synchronized inference session object wrap"). Calling it directly skips
// InferenceSession.run's argument checks, promise and setImmediate hop (~0.05-0.08 of ~0.7 ms per
// tile) and the ~40 ms of TurboFan time per worker that compiling run() took. A binding that is
// not the one we know, or ortApi "public", takes the public API.
function loadBinding() {
  if (workerData.ortApi === "public") return undefined;
  try {
    const path = require("node:path");
    const native = require(path.join(path.dirname(workerData.ortPath), "binding.js"));
    return typeof native.binding?.InferenceSession === "function" && typeof native.initOrt === "function" ? native : undefined;
  } catch {
    return undefined;
  }
}
const native = loadBinding();
/** A session with one method, run(feeds), returning the outputs or a promise of them. */
async function createSession(model) {
  if (native) {
    native.initOrt();
    const session = new native.binding.InferenceSession();
    session.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
    const fetches = {};
    for (const output of session.outputMetadata) fetches[output.name] = null;
    return { run: (feeds) => session.run(feeds, fetches, {}) };
  }
  const session = await ort.InferenceSession.create(model, options);
  return { run: (feeds) => session.run(feeds) };
}

const inbox = [];
let waiting;
port.on("message", (message) => {
  if (waiting) {
    const resolve = waiting;
    waiting = undefined;
    resolve(message);
  } else inbox.push(message);
});
const nextMessage = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => (waiting = resolve)));

// Candidates are re-scored here, exactly (float64 dot products of the unit rows), so the parent
// only gets the pairs at or above minSimilarity and the re-scoring runs on both cores instead of
// on the parent after the tiles.
let unit, dot, minSimilarity, bestExact, candidates = 0;
let pairs = new Int32Array(2 * ${FLUSH_PAIRS}), similarities = new Float64Array(${FLUSH_PAIRS});
let pairCount = 0;
function candidate(i, j) {
  candidates++;
  const s = dot(unit, dims, i, j);
  if (bestExact) {
    if (s > bestExact[i]) bestExact[i] = s;
    if (s > bestExact[j]) bestExact[j] = s;
  }
  if (s < minSimilarity) return;
  if (pairCount === similarities.length) {
    const grownPairs = new Int32Array(pairs.length * 2), grownSimilarities = new Float64Array(similarities.length * 2);
    grownPairs.set(pairs);
    grownSimilarities.set(similarities);
    pairs = grownPairs;
    similarities = grownSimilarities;
  }
  pairs[2 * pairCount] = i;
  pairs[2 * pairCount + 1] = j;
  similarities[pairCount] = s;
  pairCount++;
}
function flush() {
  if (pairCount === 0) return;
  const out = { pairs: pairs.slice(0, 2 * pairCount), similarities: similarities.slice(0, pairCount) };
  port.postMessage(out, [out.pairs.buffer, out.similarities.buffer]);
  pairCount = 0;
}

let diag, off;
// The search, set once by search().
let dims, tile, rows, nearest, tasks, taskCount, rowsU8, blocks, counters, threshold, thresholdTensor, best;

// onnxruntime-node refuses tensors on SharedArrayBuffer memory: the tile's operands are copied
// into buffers of our own, under tensors made once per shape; the row block is only copied when
// it changes.
let aBuffer, bBuffer;
const aTensors = new Map(), bTensors = new Map(), masks = new Map();
let aBlock = -1;
// The current tile: its first row and column, height and width.
let r0 = 0, c0 = 0, m = 0, w = 0;

function tensorOver(cache, type, buffer, count) {
  let tensor = cache.get(count);
  if (!tensor) {
    const shape = type === "uint8" ? [count, dims] : [dims, count];
    tensor = new ort.Tensor(type, buffer.subarray(0, count * dims), shape);
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

/** Both graphs' feeds for the current tile: its operands and the threshold. */
function operands() {
  return { A: tensorOver(aTensors, "uint8", aBuffer, m), B: tensorOver(bTensors, "int8", bBuffer, w), threshold: thresholdTensor };
}

function diagonalFeeds() {
  const feeds = operands();
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
    if (i < j) candidate(r0 + i, r0 + j);
  }
  if (nearest) {
    // the tile is symmetric: its row maxima are its column maxima
    const rowMax = out.rowMax.data;
    for (let i = 0; i < m; i++) if (rowMax[i] > best[r0 + i]) best[r0 + i] = rowMax[i];
  }
}

/** Takes an off-diagonal tile's maxima (when wanted) and its pairs among the rows that passed. */
function takeOffDiagonal(out) {
  if (nearest) {
    const rowMax = out.rowMax.data, colMax = out.colMax.data;
    for (let i = 0; i < m; i++) if (rowMax[i] > best[r0 + i]) best[r0 + i] = rowMax[i];
    for (let j = 0; j < w; j++) if (colMax[j] > best[c0 + j]) best[c0 + j] = colMax[j];
  }
  const found = out.passedPairs.dims[1];
  const rowsPassed = out.passedRows.data, index = out.passedPairs.data;
  for (let p = 0; p < found; p++) candidate(r0 + Number(rowsPassed[Number(index[p])]), c0 + Number(index[found + p]));
}

async function runTiles() {
  let seconds = 0, done = 0, yielded = performance.now();
  for (;;) {
    const t = Atomics.add(counters, 0, 1);
    if (t >= taskCount) break;
    const started = performance.now();
    // The native binding runs synchronously: on the calling thread, let timers (progress) and
    // the workers' messages through now and then.
    if (started - yielded > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
    const bi = tasks[2 * t], bj = tasks[2 * t + 1];
    loadOperands(bi, bj);
    if (bi === bj) {
      takeDiagonal(await diag.run(diagonalFeeds()));
    } else {
      takeOffDiagonal(await off.run(operands()));
    }
    seconds += (performance.now() - started) / 1000;
    done++;
    Atomics.add(counters, 1, 1);
    if (pairCount >= ${FLUSH_PAIRS}) flush();
  }
  return { seconds, tiles: done };
}

async function search(setup) {
  ({ dims, tile, rows, nearest, tasks, minSimilarity } = setup);
  unit = kernels.unitView(setup.quantize);
  dot = unit instanceof Float32Array ? kernels.dot32 : kernels.dot64;
  taskCount = tasks.length / 2;
  rowsU8 = new Uint8Array(setup.quantize.rowsU8);
  blocks = new Int8Array(setup.quantize.blocks);
  // [next task, tiles done]
  counters = new Int32Array(setup.counters);
  kernels.quantizeShare(setup.quantize);
  aBuffer = new Uint8Array(tile * dims);
  bBuffer = new Int8Array(tile * dims);
  ({ threshold } = await nextMessage());
  thresholdTensor = new ort.Tensor("int32", Int32Array.from([threshold]), []);
  best = nearest ? new Int32Array(rows).fill(-(2 ** 31)) : undefined;
  bestExact = nearest ? new Float64Array(rows).fill(-Infinity) : undefined;
  const { seconds, tiles } = await runTiles();
  flush();
  port.postMessage({ done: { best, bestExact, candidates, seconds, tiles } });
}

async function main() {
  diag = await createSession(workerData.models.diag);
  off = await createSession(workerData.models.off);
  for (;;) {
    const message = await nextMessage();
    if (message.normalize) kernels.normalizeShare(message.normalize);
    else if (message.search) return search(message.search);
  }
}
main().catch((error) => port.postMessage({ error: String((error && error.stack) || error) }));
`;

interface WorkerDone {
  /** Per row, the largest int8 score the worker saw (when nearest neighbours are wanted). */
  best?: Int32Array;
  /** Per row, the largest exact similarity among the candidates the worker re-scored. */
  bestExact?: Float64Array;
  /** Candidates the worker re-scored. */
  candidates: number;
  seconds: number;
  tiles: number;
}

interface WorkerReply {
  done?: WorkerDone;
}

type WorkerMessage = WorkerReply & { error?: string; pairs?: Int32Array; similarities?: Float64Array };

/** A message endpoint: a worker thread, or a port of a channel to a runner on this thread. */
interface Endpoint {
  on(event: "message", listener: (message: WorkerMessage) => void): unknown;
  postMessage(message: unknown): void;
}

/**
 * One tile runner, in a worker thread or on this thread: answers `ask`s in order and streams the
 * pairs at or above the search's minimum similarity to `onPairs`.
 */
class TileRunner {
  private readonly endpoint: Endpoint;
  private readonly stop: () => Promise<unknown>;
  private readonly waiting: { resolve: (reply: WorkerReply) => void; reject: (e: Error) => void }[] = [];
  private failure?: Error;
  onPairs: (pairs: Int32Array, similarities: Float64Array) => void = () => {};
  /** Rejects when the runner fails or stops. */
  readonly failed: Promise<never>;

  constructor(workerData: Record<string, unknown>, onThisThread: boolean) {
    let rejectFailed!: (e: Error) => void;
    this.failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    this.failed.catch(() => {});
    const fail = (error: Error) => {
      this.failure ??= error;
      rejectFailed(this.failure);
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
    };
    if (onThisThread) {
      const { port1, port2 } = new MessageChannel();
      this.endpoint = port2;
      let stopped = false;
      this.stop = async () => {
        stopped = true;
        port2.close();
        fail(new Error("cluster: similarity runner stopped"));
      };
      // On the next turn, once the caller has started reading: loading onnxruntime blocks this
      // thread for ~80 ms, while the reads go on in libuv's threads.
      setImmediate(() => {
        if (stopped) return;
        try {
          new Function("port", "workerData", "require", "kernels", RUNNER_BODY)(port1, workerData, requireHere, rowKernels);
        } catch (error) {
          fail(error as Error);
        }
      });
    } else {
      const worker = new Worker(
        `const { parentPort, workerData } = require("node:worker_threads");
        import(workerData.kernelsUrl).then((kernels) => new Function("port", "workerData", "require", "kernels", workerData.body)(parentPort, workerData, require, kernels));`,
        { eval: true, workerData: { ...workerData, body: RUNNER_BODY } },
      );
      this.endpoint = worker;
      this.stop = () => worker.terminate();
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`cluster: similarity worker exited (${code})`)));
    }
    this.endpoint.on("message", (message: WorkerMessage) => {
      if (message.error) fail(new Error(`cluster: similarity worker failed: ${message.error}`));
      else if (message.pairs) {
        try {
          this.onPairs(message.pairs, message.similarities!);
        } catch (error) {
          fail(error as Error);
        }
      } else this.waiting.shift()?.resolve(message);
    });
  }

  /** Posts `message`, which gets no reply. */
  post(message: Record<string, unknown>): void {
    if (!this.failure) this.endpoint.postMessage(message);
  }

  /** Posts `message` and resolves with the runner's next reply. */
  ask(message: Record<string, unknown>): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.endpoint.postMessage(message);
    });
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

const requireHere = createRequire(import.meta.url);

export interface SimilarityWorkersParams {
  /** Tile runners, one onnxruntime thread each (2 on the team's 2-core machine): this thread and threads - 1 workers. */
  threads?: number;
  /** Columns of the embeddings (the sessions are made for it at start). */
  dims: number;
  /** Whether the search wants nearest-neighbour similarities. */
  nearestNeighbors: boolean;
  /**
   * @internal How the runners call onnxruntime: its synchronous native binding (default, faster)
   * or its public async API (the fallback when the binding is not the one we know; specs compare them).
   */
  ortApi?: "binding" | "public";
}

// Node >= 16 has Atomics.waitAsync; TypeScript types it only from lib ES2024, newer than ours.
const { waitAsync } = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
};

/**
 * Waits until control[1] counts `total` pieces done: the pieces this thread did not take are
 * being finished by workers, or the wait ends with a runner's failure.
 */
async function untilDone(control: Int32Array, total: number, runners: TileRunner[]): Promise<void> {
  const failed = Promise.race(runners.map((r) => r.failed));
  failed.catch(() => {}); // awaited below only while waiting
  for (;;) {
    const done = Atomics.load(control, 1);
    if (done >= total) return;
    const wait = waitAsync(control, 1, done);
    if (wait.async) await Promise.race([wait.value, failed]);
  }
}

/** Rows normalised per piece of the shared normalising work. */
const NORMALIZE_CHUNK_ROWS = 256;

/**
 * The tile runners of one search, started ahead of the data so that loading onnxruntime and making
 * the sessions overlaps reading the embeddings. They normalise the rows (`prepare`) and then serve
 * one search, which stops them.
 */
export class SimilarityWorkers {
  /** @internal */
  readonly runners: TileRunner[];
  readonly dims: number;
  readonly nearestNeighbors: boolean;
  private used = false;

  constructor(params: SimilarityWorkersParams) {
    const { dims, nearestNeighbors } = params;
    this.dims = dims;
    this.nearestNeighbors = nearestNeighbors;
    const workerData = {
      ortPath: requireHere.resolve("onnxruntime-node"),
      kernelsUrl: new URL("./row-kernels.js", import.meta.url).href,
      ortApi: params.ortApi ?? "binding",
      models: {
        diag: similarityGraph(dims, { mask: nearestNeighbors, pairs: true, rowMax: nearestNeighbors }),
        off: similarityGraph(dims, { rowMax: nearestNeighbors, colMax: nearestNeighbors, passedRows: true }),
      },
    };
    const count = Math.max(1, params.threads ?? 2);
    // Workers first, so their start-up begins before this thread's runner loads onnxruntime.
    this.runners = Array.from({ length: count - 1 }, () => new TileRunner(workerData, false));
    this.runners.push(new TileRunner(workerData, true));
  }

  /**
   * `prepareEmbeddings` on all threads, each normalising the pieces it takes: the same kernels,
   * so the same values. The rows are normalised in place when `inPlace` and already on a
   * SharedArrayBuffer (as `readNpyParallel({ shared: true })` gives them), else in a shared copy.
   */
  async prepare(params: { matrix: EmbeddingMatrix; eps: number; source?: string; inPlace?: boolean }): Promise<PreparedEmbeddings> {
    const { matrix, eps } = params;
    const source = params.source ?? "embeddings";
    checkEmbeddings(matrix, eps, source);
    const { rows, dims } = matrix;
    const unit = params.inPlace && matrix.data.buffer instanceof SharedArrayBuffer ? matrix.data : sharedCopy(matrix.data);
    const zeroRow = new Uint8Array(new SharedArrayBuffer(rows));
    const pieces = Math.ceil(rows / NORMALIZE_CHUNK_ROWS);
    const job: NormalizeJob = {
      ...rowsJob(unit, dims),
      zeroRow: zeroRow.buffer as SharedArrayBuffer,
      chunkRows: NORMALIZE_CHUNK_ROWS,
      control: new SharedArrayBuffer(8),
      maxAbs: new SharedArrayBuffer(8 * pieces),
      badRow: new SharedArrayBuffer(4 * pieces),
    };
    for (const runner of this.runners) runner.post({ normalize: job });
    // This thread takes pieces at once; the workers join as soon as they have started.
    normalizeShare(job);
    await untilDone(new Int32Array(job.control), pieces, this.runners);
    let maxAbs = 0;
    let badRow = -1;
    const pieceMax = new Float64Array(job.maxAbs);
    const pieceBad = new Int32Array(job.badRow);
    for (let piece = 0; piece < pieces; piece++) {
      maxAbs = Math.max(maxAbs, pieceMax[piece]!);
      if (pieceBad[piece]! >= 0 && badRow < 0) badRow = pieceBad[piece]!;
    }
    // Rows after a bad one may have been normalised; the input is refused anyway.
    if (badRow >= 0) throw badValue(unit, badRow, dims, source);
    return describeEmbeddings({ unit, zeroRow, maxAbs, eps, rows, dims });
  }

  /** @internal Hands the runners to one search. */
  take(): TileRunner[] {
    if (this.used) throw new Error("cluster: similarity workers already used by a search");
    this.used = true;
    return this.runners;
  }

  /** Stops the runners (a search stops those it used; this is for when none ran). */
  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close()));
  }
}

/** The rows as a worker job describes them (the buffer is shared, not copied). */
function rowsJob(unit: Float32Array | Float64Array, dims: number): SharedRows {
  return {
    unit: unit.buffer as SharedArrayBuffer,
    byteOffset: unit.byteOffset,
    dtype: unit instanceof Float32Array ? "float32" : "float64",
    rows: unit.length / dims,
    dims,
  };
}

function sharedCopy<T extends Float32Array | Float64Array>(data: T): T {
  const copy = (data instanceof Float32Array
    ? new Float32Array(new SharedArrayBuffer(data.byteLength))
    : new Float64Array(new SharedArrayBuffer(data.byteLength))) as T;
  copy.set(data);
  return copy;
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
  const pool =
    params.workers ?? new SimilarityWorkers({ threads: Math.min(params.threads ?? 2, taskCount), dims, nearestNeighbors: wantNearest });
  if (pool.dims !== dims || pool.nearestNeighbors !== wantNearest) {
    await pool.close();
    throw new Error("cluster: similarity workers were started for another search");
  }
  const runners = pool.take();

  const absorb = (pairs: Int32Array, similarities: Float64Array) => {
    for (let p = 0; p < similarities.length; p++) onPair(pairs[2 * p]!, pairs[2 * p + 1]!, similarities[p]!);
  };
  for (const runner of runners) runner.onPairs = absorb;

  // One global scale so the integer dot product compares with one threshold. The stored rows are
  // exactly what `unit` holds, so maxAbs bounds every |v|.
  const scale = prepared.maxAbs > 0 ? 127 / prepared.maxAbs : 1;
  const unit = prepared.unit.buffer instanceof SharedArrayBuffer ? prepared.unit : sharedCopy(prepared.unit);
  const quantizeJob: QuantizeJob = {
    ...rowsJob(unit, dims),
    tile,
    scale,
    rowsU8: new SharedArrayBuffer(rows * dims),
    blocks: new SharedArrayBuffer(rows * dims),
    control: new SharedArrayBuffer(8),
    worst: new SharedArrayBuffer(8 * blockCount),
  };
  const setup = {
    dims,
    tile,
    rows,
    nearest: wantNearest,
    tasks,
    minSimilarity,
    counters: new SharedArrayBuffer(8),
    quantize: quantizeJob,
  };
  const counters = new Int32Array(setup.counters);

  let done: WorkerDone[];
  let quantizeSeconds = 0;
  let margin = 0;
  let progress: ReturnType<typeof setInterval> | undefined;
  try {
    for (const runner of runners) runner.post({ search: setup });
    quantizeShare(quantizeJob);
    await untilDone(new Int32Array(quantizeJob.control), blockCount, runners);
    quantizeSeconds = (performance.now() - started) / 1000;
    // For unit rows x, y and their quantisations x~ = q/scale, |x.y - x~.y~| <= |x - x~| |y| +
    // |y - y~| |x~|, so with e the largest rounding error norm the bound is e + e (1 + e); 1e-6
    // covers the float64 rounding of the bound itself and of |y| <= 1.
    const worst = Math.sqrt(Math.max(...new Float64Array(quantizeJob.worst)));
    margin = worst * (2 + worst) + 1e-6;
    // Exact s >= minSimilarity implies integer dot >= scale^2 (minSimilarity - margin); -1 absorbs
    // the rounding of that product.
    const threshold = Math.max(-(2 ** 31) + 1, Math.floor(scale * scale * (minSimilarity - margin)) - 1);
    const finished = Promise.all(runners.map((r) => r.ask({ threshold })));
    const onTile = params.onTile;
    if (onTile) {
      let reported = 0;
      // One call per tile, as before tiles were counted in shared memory.
      const report = (upTo: number) => {
        while (reported < upTo) onTile(++reported, taskCount);
      };
      progress = setInterval(() => report(Atomics.load(counters, 1)), 100);
      done = (await finished).map((reply) => reply.done!);
      report(taskCount);
    } else {
      done = (await finished).map((reply) => reply.done!);
    }
  } finally {
    if (progress) clearInterval(progress);
    await Promise.all(runners.map((r) => r.close()));
  }

  const scale2 = scale * scale;
  let nearest: Float64Array | undefined;
  if (wantNearest) {
    const bestApprox = new Int32Array(rows).fill(-(2 ** 31));
    const bestExact = new Float64Array(rows).fill(-Infinity);
    for (const worker of done) {
      const best = worker.best!;
      const exact = worker.bestExact!;
      for (let i = 0; i < rows; i++) {
        if (best[i]! > bestApprox[i]!) bestApprox[i] = best[i]!;
        if (exact[i]! > bestExact[i]!) bestExact[i] = exact[i]!;
      }
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
  const candidates = done.reduce((sum, d) => sum + d.candidates, 0);
  const timings = { quantize: quantizeSeconds, onnxruntime: ortSeconds, total: (performance.now() - started) / 1000 };
  return { nearest, quantizationMargin: margin, candidates, tiles, timings };
}
