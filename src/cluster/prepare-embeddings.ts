/**
 * Validates an embedding matrix and normalises it the way scikit-learn's cosine metric does, and
 * holds the exact neighbour rule: which pairs sklearn's `DBSCAN(metric="cosine")` calls
 * neighbours, in the precision of the input (../shared/docs/reference-pipeline.md, "Clustering").
 */
import { UsageError } from "../common/errors.ts";
import { dot32, dot64, normalizeRows32, normalizeRows64 } from "./row-kernels.js";

export type EmbeddingDtype = "float32" | "float64";

export interface EmbeddingMatrix {
  /** Row-major values, `rows * dims` of them. */
  data: Float32Array | Float64Array;
  rows: number;
  dims: number;
}

/** Rows normalised as sklearn's `normalize` does, plus the neighbour rule for their dtype. */
export interface PreparedEmbeddings {
  dtype: EmbeddingDtype;
  rows: number;
  dims: number;
  /** Unit rows in the input precision (zero rows stay zero, as sklearn leaves them). */
  unit: Float32Array | Float64Array;
  /** 1 where the input row was all zeros. */
  zeroRow: Uint8Array;
  /** Largest |value| among the unit rows (sets the int8 scale). */
  maxAbs: number;
  /** DBSCAN radius in cosine distance. */
  eps: number;
  /**
   * Smallest similarity (as computed in the input precision) that makes a neighbour:
   * float32: the least float32 s with fround(1 - s) <= fround(eps), 0.650000035762786865234375 for
   * eps = 0.35; float64: the least double s with 1 - s <= eps, 0.65000000000000002220.
   */
  threshold: number;
  /** Is a pair with exactly computed similarity `s` (float64 dot of the unit rows) a neighbour? */
  isNeighbor(s: number): boolean;
  /** Exact (float64) dot product of unit rows i and j. */
  similarity(i: number, j: number): number;
  /** Does row i count itself as a neighbour (only ever false for zero rows, see below)? */
  selfNeighbor(i: number): boolean;
}

export interface PrepareParams {
  /** The embeddings, float32 or float64, one row per image. */
  matrix: EmbeddingMatrix;
  /** DBSCAN eps (cosine distance), in (0, 2). */
  eps: number;
  /** Names the input in error messages (a file path). */
  source?: string;
  /** Normalise into the input array instead of a copy (saves rows x dims values of memory). */
  inPlace?: boolean;
}

/** sklearn's `pairwise_distances_chunked` rows per chunk at the default 1024 MiB working memory. */
export function sklearnChunkRows(rows: number): number {
  return Math.max(1, Math.floor((1024 * 2 ** 20) / (8 * rows)));
}

/** Checks eps and the matrix's shape; throws a `UsageError` naming `source`. */
export function checkEmbeddings(matrix: EmbeddingMatrix, eps: number, source = "embeddings"): void {
  const { rows, dims, data } = matrix;
  if (!(eps > 0 && eps < 2)) throw new UsageError(`eps must be in (0, 2), got ${eps}`);
  if (rows < 1) throw new UsageError(`${source}: no rows to cluster`);
  if (dims < 1) throw new UsageError(`${source}: rows have no columns`);
  if (data.length !== rows * dims) throw new UsageError(`${source}: ${data.length} values for ${rows} x ${dims}`);
}

/**
 * Validates and normalises on the calling thread. `dbscan` does the same on its similarity workers
 * (`SimilarityWorkers.prepare`), with the same kernels and so the same values.
 */
export function prepareEmbeddings(params: PrepareParams): PreparedEmbeddings {
  const { matrix, eps } = params;
  const source = params.source ?? "embeddings";
  checkEmbeddings(matrix, eps, source);
  const { rows, dims, data } = matrix;
  const zeroRow = new Uint8Array(rows);
  const unit = params.inPlace ? data : data.slice();
  const { maxAbs, badRow } =
    unit instanceof Float32Array ? normalizeRows32(unit, dims, 0, rows, zeroRow) : normalizeRows64(unit, dims, 0, rows, zeroRow);
  if (badRow >= 0) throw badValue(unit, badRow, dims, source);
  return describeEmbeddings({ unit, zeroRow, maxAbs, eps, rows, dims });
}

export interface NormalizedEmbeddings {
  /** Unit rows (see `PreparedEmbeddings.unit`). */
  unit: Float32Array | Float64Array;
  zeroRow: Uint8Array;
  maxAbs: number;
  eps: number;
  rows: number;
  dims: number;
}

/** The neighbour rule and exact similarity over rows already normalised as sklearn does. */
export function describeEmbeddings(normalized: NormalizedEmbeddings): PreparedEmbeddings {
  const { unit, zeroRow, maxAbs, eps, rows, dims } = normalized;
  const f32 = unit instanceof Float32Array;
  // sklearn compares `1 - s` (clipped to [0, 2]) with eps in the input dtype: for float32 the
  // Python float eps is cast to float32 (NumPy value-based casting), so the rule is
  // fround(1 - fround(s)) <= fround(eps).
  const eps32 = Math.fround(eps);
  const isNeighbor = f32
    ? (s: number) => Math.min(2, Math.max(0, Math.fround(1 - Math.fround(s)))) <= eps32
    : (s: number) => Math.min(2, Math.max(0, 1 - s)) <= eps;
  const threshold = leastNeighbor(isNeighbor, f32);

  // The diagonal: sklearn sets d(i, i) = 0 only when the whole distance matrix is one chunk
  // (`X is Y` in cosine_distances); otherwise a zero row is 1 away from itself, a neighbour of
  // itself only when eps >= 1. Non-zero rows are always within eps of themselves.
  const singleChunk = sklearnChunkRows(rows) >= rows;
  const zeroSelf = singleChunk || isNeighbor(0);
  const similarity =
    unit instanceof Float32Array ? (i: number, j: number) => dot32(unit, dims, i, j) : (i: number, j: number) => dot64(unit, dims, i, j);
  return {
    dtype: f32 ? "float32" : "float64",
    rows,
    dims,
    unit,
    zeroRow,
    maxAbs,
    eps,
    threshold,
    isNeighbor,
    similarity,
    selfNeighbor: (i) => zeroRow[i] === 0 || zeroSelf,
  };
}

/** The error for a row whose sum of squares is not finite: names the first non-finite value. */
export function badValue(data: ArrayLike<number>, row: number, dims: number, source: string): UsageError {
  for (let k = 0; k < dims; k++) {
    const v = data[row * dims + k]!;
    if (!Number.isFinite(v)) return new UsageError(`${source}: row ${row}, column ${k} is ${v} (embeddings must be finite)`);
  }
  return new UsageError(`${source}: row ${row} overflows when squared`);
}

/**
 * Least value s for which `isNeighbor(s)` holds (the rule is monotone in s): bisection over
 * doubles down to adjacent values; in float32 the rule only sees fround(s), so the answer is the
 * float32 the least double rounds to.
 */
function leastNeighbor(isNeighbor: (s: number) => boolean, float32: boolean): number {
  let lo = -2; // 1 - (-2) = 3 clips to 2 > eps: never a neighbour
  let hi = 1; // 1 - 1 = 0 <= eps: always
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (isNeighbor(mid)) hi = mid;
    else lo = mid;
  }
  return float32 ? Math.fround(hi) : hi;
}
