/**
 * Validates an embedding matrix and normalises it the way scikit-learn's cosine metric does, and
 * holds the exact neighbour rule: which pairs sklearn's `DBSCAN(metric="cosine")` calls
 * neighbours, in the precision of the input (../shared/docs/reference-pipeline.md, "Clustering").
 */
import { UsageError } from "../common/errors.ts";

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

export function prepareEmbeddings(params: PrepareParams): PreparedEmbeddings {
  const { matrix, eps } = params;
  const source = params.source ?? "embeddings";
  const { rows, dims, data } = matrix;
  if (!(eps > 0 && eps < 2)) throw new UsageError(`eps must be in (0, 2), got ${eps}`);
  if (rows < 1) throw new UsageError(`${source}: no rows to cluster`);
  if (dims < 1) throw new UsageError(`${source}: rows have no columns`);
  if (data.length !== rows * dims) throw new UsageError(`${source}: ${data.length} values for ${rows} x ${dims}`);
  const f32 = data instanceof Float32Array;
  const zeroRow = new Uint8Array(rows);
  // One loop per element type keeps V8's element access monomorphic (this is most of the time).
  const { unit, maxAbs } =
    data instanceof Float32Array
      ? normalizeRows32(data, rows, dims, zeroRow, source, params.inPlace ? data : new Float32Array(rows * dims))
      : normalizeRows64(data, rows, dims, zeroRow, source, params.inPlace ? data : new Float64Array(rows * dims));

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
  const similarity = unit instanceof Float32Array ? dot32(unit, dims) : dot64(unit, dims);
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

function badValue(data: ArrayLike<number>, row: number, dims: number, source: string): UsageError {
  for (let k = 0; k < dims; k++) {
    const v = data[row * dims + k]!;
    if (!Number.isFinite(v)) return new UsageError(`${source}: row ${row}, column ${k} is ${v} (embeddings must be finite)`);
  }
  return new UsageError(`${source}: row ${row} overflows when squared`);
}

// sklearn's normalize: norm = sqrt(sum of squares) in the input dtype, zero norms replaced by 1,
// then x / norm in the input dtype (a Float32Array store rounds the double quotient exactly as a
// float32 division would).
function normalizeRows32(
  data: Float32Array,
  rows: number,
  dims: number,
  zeroRow: Uint8Array,
  source: string,
  unit: Float32Array,
): { unit: Float32Array; maxAbs: number } {
  let maxAbs = 0;
  for (let r = 0, base = 0; r < rows; r++, base += dims) {
    const end = base + dims;
    let sum = 0;
    for (let k = base; k < end; k++) {
      const x = data[k]!;
      sum += x * x;
    }
    if (!Number.isFinite(sum)) throw badValue(data, r, dims, source);
    let norm = Math.fround(Math.sqrt(Math.fround(sum)));
    if (norm === 0) {
      zeroRow[r] = 1;
      norm = 1;
    }
    let rowMax = 0;
    for (let k = base; k < end; k++) {
      const v = Math.fround(data[k]! / norm); // the value the float32 store keeps
      unit[k] = v;
      const a = Math.abs(v);
      if (a > rowMax) rowMax = a;
    }
    if (rowMax > maxAbs) maxAbs = rowMax;
  }
  return { unit, maxAbs };
}

function normalizeRows64(
  data: Float64Array,
  rows: number,
  dims: number,
  zeroRow: Uint8Array,
  source: string,
  unit: Float64Array,
): { unit: Float64Array; maxAbs: number } {
  let maxAbs = 0;
  for (let r = 0, base = 0; r < rows; r++, base += dims) {
    let sum = 0;
    for (let k = base; k < base + dims; k++) sum += data[k]! * data[k]!;
    if (!Number.isFinite(sum)) throw badValue(data, r, dims, source);
    let norm = Math.sqrt(sum);
    if (norm === 0) {
      zeroRow[r] = 1;
      norm = 1;
    }
    for (let k = base; k < base + dims; k++) {
      unit[k] = data[k]! / norm;
      const v = unit[k]!; // the stored (for float32, rounded) value
      if (v > maxAbs) maxAbs = v;
      else if (-v > maxAbs) maxAbs = -v;
    }
  }
  return { unit, maxAbs };
}

function dot32(unit: Float32Array, dims: number): (i: number, j: number) => number {
  return (i, j) => {
    let s = 0;
    for (let a = i * dims, b = j * dims, end = a + dims; a < end; a++, b++) s += unit[a]! * unit[b]!;
    return s;
  };
}

function dot64(unit: Float64Array, dims: number): (i: number, j: number) => number {
  return (i, j) => {
    let s = 0;
    for (let a = i * dims, b = j * dims, end = a + dims; a < end; a++, b++) s += unit[a]! * unit[b]!;
    return s;
  };
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
