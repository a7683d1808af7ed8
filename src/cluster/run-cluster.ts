/**
 * The cluster stage end to end: embeddings `.npy` in; labels (int64 `.npy`), cluster sizes and
 * statistics out. Used by `idclusters cluster` and `npm run bench:cluster`.
 */
import { writeFileSync } from "node:fs";
import { UsageError } from "../common/errors.ts";
import { log } from "../common/logger.ts";
import { int64Array, readNpyHeader, writeNpy } from "../common/npy.ts";
import type { NpyArray } from "../common/npy.ts";
import { computeClusterStats } from "./cluster-stats.ts";
import type { ClusterStats } from "./cluster-stats.ts";
import { dbscan } from "./dbscan.ts";
import { SimilarityWorkers } from "./neighbor-search.ts";
import type { DbscanResult } from "./dbscan.ts";
import { nearestNeighborHistogram } from "./nearest-neighbor-histogram.ts";
import type { NearestNeighborHistogram } from "./nearest-neighbor-histogram.ts";
import { applyNoisePolicy } from "./noise-policy.ts";
import { readNpyParallel } from "./read-npy-parallel.ts";
import type { NoisePolicy, NoisePolicyResult } from "./noise-policy.ts";
import type { EmbeddingMatrix } from "./prepare-embeddings.ts";

export interface RunClusterParams {
  /** Embeddings file: float32 or float64, 2-D, C order. */
  embeddingsPath: string;
  /** Cosine-distance radius, in (0, 2). */
  eps: number;
  /** Rows (itself included) within eps that make a core row. */
  minSamples: number;
  /** What becomes of noise rows. */
  noise: NoisePolicy;
  /** Where to write the final labels (int64 `.npy`, one per output row). */
  labelsOut?: string;
  /** Where to write the statistics JSON. */
  statsOut?: string;
  /** Where to write `cluster_size` per output row (int64 `.npy`). */
  sizesOut?: string;
  /** Where to write the source row index of each output row (int64 `.npy`; useful with `drop`). */
  rowsOut?: string;
  /** Compute the nearest-neighbour histogram (costs two reductions per tile). Default true. */
  nearestNeighbors?: boolean;
  /** Rows per similarity tile. */
  tileRows?: number;
  /** Tile runners (one onnxruntime thread each): this thread and threads - 1 workers. */
  threads?: number;
  /** Progress over similarity tiles. */
  onTile?: (done: number, total: number) => void;
}

export interface RunClusterResult {
  dbscan: DbscanResult;
  final: NoisePolicyResult;
  histogram?: NearestNeighborHistogram;
  stats: ClusterStats;
}

/** Checks a `.npy` header describes an embedding matrix (float32/float64, 2-D); returns [rows, dims]. */
function embeddingShapeOf(header: { dtype: string; shape: number[] }, source: string): [number, number] {
  if (header.dtype !== "float32" && header.dtype !== "float64") {
    throw new UsageError(`${source}: embeddings must be float32 or float64, got ${header.dtype}`);
  }
  if (header.shape.length !== 2) {
    throw new UsageError(`${source}: embeddings must be 2-D (rows, dims), got shape (${header.shape.join(", ")})`);
  }
  return header.shape as [number, number];
}

/** Checks a loaded `.npy` is an embedding matrix: float32/float64, 2-D. */
export function embeddingMatrixOf(array: NpyArray, source: string): EmbeddingMatrix {
  const [rows, dims] = embeddingShapeOf(array, source);
  return { data: array.data as Float32Array | Float64Array, rows, dims };
}

export async function runCluster(params: RunClusterParams): Promise<RunClusterResult> {
  const path = params.embeddingsPath;
  const wantNearest = params.nearestNeighbors ?? true;
  // The header says enough to start the similarity runners, which load onnxruntime while the
  // data is read (the reads are in flight once readNpyParallel returns).
  const [, dims] = embeddingShapeOf(readNpyHeader(path), path);
  const reading = readNpyParallel({ path, shared: true });
  const workers = dims >= 1 ? new SimilarityWorkers({ threads: params.threads, dims, nearestNeighbors: wantNearest }) : undefined;
  let embeddings: EmbeddingMatrix;
  try {
    embeddings = embeddingMatrixOf(await reading, path);
  } catch (error) {
    await workers?.close();
    throw error;
  }
  const result = await dbscan({
    embeddings,
    eps: params.eps,
    minSamples: params.minSamples,
    nearestNeighbors: wantNearest,
    tileRows: params.tileRows,
    workers,
    threads: params.threads,
    source: path,
    // the array was read for this run alone
    inPlace: true,
    onTile: params.onTile,
  });
  warnAmbiguous(result);
  const final = applyNoisePolicy({ labels: result.labels, policy: params.noise });
  const histogram = result.nearest ? nearestNeighborHistogram({ nearest: result.nearest }) : undefined;
  const stats = computeClusterStats({
    dbscan: result,
    final,
    policy: params.noise,
    eps: params.eps,
    minSamples: params.minSamples,
    histogram,
  });
  if (params.labelsOut) writeInt64(params.labelsOut, final.labels);
  if (params.sizesOut) writeInt64(params.sizesOut, final.clusterSizes);
  if (params.rowsOut) writeInt64(params.rowsOut, final.rows);
  if (params.statsOut) writeFileSync(params.statsOut, JSON.stringify(stats, null, 2) + "\n");
  return { dbscan: result, final, histogram, stats };
}

/** Near-threshold pairs are decided, reported in the statistics and shown (the first 20) here. */
function warnAmbiguous(result: DbscanResult): void {
  const shown = 20;
  for (const pair of result.ambiguousPairs.slice(0, shown)) {
    log.warn(
      `rows ${pair.i} and ${pair.j}: similarity ${pair.similarity.toPrecision(9)} is within 2e-6 of the threshold ` +
        `${result.threshold.toPrecision(9)} and joins two components; decided ${pair.neighbor ? "neighbours" : "not neighbours"} ` +
        `(sklearn's BLAS rounding may decide otherwise)`,
    );
  }
  if (result.ambiguousPairs.length > shown) {
    log.warn(`${result.ambiguousPairs.length - shown} more such pairs: see ambiguous_pairs in the statistics`);
  }
}

function writeInt64(path: string, values: Int32Array): void {
  writeNpy(path, { shape: [values.length], data: int64Array(values) });
}
