/**
 * Exact all-pairs neighbour search without an n x n matrix: the upper triangle of the similarity
 * matrix is computed tile by tile on onnxruntime with an int8 `MatMulInteger` prefilter whose
 * threshold is lowered by a proven bound on the quantisation error, and every candidate is
 * re-scored in float64 from the unit rows (../shared/docs/reference-pipeline.md, "What is measured
 * here": the int8 prefilter is the fastest exact route measured on this machine).
 */
import * as ort from "onnxruntime-node";
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
  /** onnxruntime intra-op threads (2 on the team's 2-core machine). */
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
  /** Wall seconds: quantising, inside onnxruntime, and the whole search. */
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
  /** q + 128 per value, row-major [rows, dims]. */
  rowsU8: Uint8Array;
  /** q, transposed in column blocks: block b = [dims, width_b] for rows b*tile ... */
  blocks: Int8Array[];
  scale: number;
  margin: number;
}

/**
 * One global scale so the integer dot product compares with one threshold. For unit rows x, y and
 * their quantisations x~ = q/scale, |x.y - x~.y~| <= |x - x~| |y| + |y - y~| |x~|, so with e the
 * largest rounding error norm the bound is e + e (1 + e).
 */
function quantize(prepared: PreparedEmbeddings, tile: number): Quantized {
  const { unit, rows, dims } = prepared;
  let maxAbs = 0;
  for (let i = 0; i < unit.length; i++) {
    const v = unit[i]!;
    if (v > maxAbs) maxAbs = v;
    else if (-v > maxAbs) maxAbs = -v;
  }
  const scale = maxAbs > 0 ? 127 / maxAbs : 1;
  const rowsU8 = new Uint8Array(rows * dims);
  let worst = 0;
  for (let r = 0, at = 0; r < rows; r++) {
    let err = 0;
    for (let k = 0; k < dims; k++, at++) {
      const v = unit[at]!;
      // |v| * scale <= 127 by the choice of scale, so no clamping is needed.
      const q = Math.round(v * scale);
      rowsU8[at] = q + 128;
      const e = v - q / scale;
      err += e * e;
    }
    if (err > worst) worst = err;
  }
  worst = Math.sqrt(worst);
  // 1e-6 covers the float64 rounding of the bound itself and of |y| <= 1.
  const margin = worst * (2 + worst) + 1e-6;
  const blocks: Int8Array[] = [];
  for (let start = 0; start < rows; start += tile) {
    const width = Math.min(tile, rows - start);
    const block = new Int8Array(dims * width);
    for (let k = 0, at = 0; k < dims; k++) {
      for (let c = 0, src = start * dims + k; c < width; c++, at++, src += dims) block[at] = rowsU8[src]! - 128;
    }
    blocks.push(block);
  }
  return { rowsU8, blocks, scale, margin };
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
  const quantized = quantize(prepared, tile);
  const quantizeSeconds = (performance.now() - started) / 1000;
  let ortSeconds = 0;
  const { scale, margin } = quantized;
  const scale2 = scale * scale;
  // Exact s >= minSimilarity implies integer dot >= scale^2 (minSimilarity - margin); -1 absorbs
  // the rounding of that product.
  const threshold = Math.max(-(2 ** 31) + 1, Math.floor(scale2 * (minSimilarity - margin)) - 1);

  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: params.threads ?? 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    // Idle pool threads sleep instead of spinning: on a shared 2-core machine spinning threads
    // steal the cores the GEMM needs (measured 2.8-3.4 s vs 4.6-5.3 s of onnxruntime time at 28k).
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
  const offSession = await ort.InferenceSession.create(similarityGraph(dims, wantNearest, false), options);
  const diagSession = wantNearest
    ? await ort.InferenceSession.create(similarityGraph(dims, true, true), options)
    : offSession;

  const bestExact = new Float64Array(wantNearest ? rows : 0).fill(-Infinity);
  const bestApprox = new Int32Array(wantNearest ? rows : 0).fill(-(2 ** 31));
  const thresholdTensor = new ort.Tensor("int32", Int32Array.from([threshold]), []);
  const blockCount = quantized.blocks.length;
  const totalTiles = (blockCount * (blockCount + 1)) / 2;
  let tiles = 0;
  let candidates = 0;
  let mask: ort.Tensor | undefined;

  try {
    for (let bi = 0; bi < blockCount; bi++) {
      const r0 = bi * tile;
      const m = Math.min(tile, rows - r0);
      const a = new ort.Tensor("uint8", quantized.rowsU8.subarray(r0 * dims, (r0 + m) * dims), [m, dims]);
      for (let bj = bi; bj < blockCount; bj++) {
        const c0 = bj * tile;
        const block = quantized.blocks[bj]!;
        const w = block.length / dims;
        const diagonal = bi === bj;
        const feeds: Record<string, ort.Tensor> = {
          A: a,
          B: new ort.Tensor("int8", block, [dims, w]),
          threshold: thresholdTensor,
        };
        if (diagonal && wantNearest) {
          if (!mask || mask.dims[0] !== m) {
            const values = new Int32Array(m * m);
            for (let i = 0; i < m; i++) values[i * m + i] = DIAGONAL_MASK;
            mask = new ort.Tensor("int32", values, [m, m]);
          }
          feeds.mask = mask;
        }
        const runStarted = performance.now();
        const out = await (diagonal ? diagSession : offSession).run(feeds);
        ortSeconds += (performance.now() - runStarted) / 1000;
        const pairs = out.pairs!;
        const found = pairs.dims[1] as number;
        const index = pairs.data as BigInt64Array;
        for (let p = 0; p < found; p++) {
          const i = r0 + Number(index[p]!);
          const j = c0 + Number(index[found + p]!);
          // Diagonal tiles hold each pair twice and the self pairs.
          if (i >= j) continue;
          candidates++;
          const s = prepared.similarity(i, j);
          if (wantNearest) {
            if (s > bestExact[i]!) bestExact[i] = s;
            if (s > bestExact[j]!) bestExact[j] = s;
          }
          if (s >= minSimilarity) onPair(i, j, s);
        }
        if (wantNearest) {
          const rowMax = out.rowMax!.data as Int32Array;
          for (let i = 0; i < m; i++) if (rowMax[i]! > bestApprox[r0 + i]!) bestApprox[r0 + i] = rowMax[i]!;
          if (!diagonal) {
            const colMax = out.colMax!.data as Int32Array;
            for (let j = 0; j < w; j++) if (colMax[j]! > bestApprox[c0 + j]!) bestApprox[c0 + j] = colMax[j]!;
          }
        }
        for (const tensor of Object.values(out)) tensor.dispose?.();
        tiles++;
        params.onTile?.(tiles, totalTiles);
      }
    }
  } finally {
    await offSession.release();
    if (diagSession !== offSession) await diagSession.release();
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
