// Types of row-kernels.js (plain JavaScript so the similarity workers can load it without tsx).

export interface NormalizedRange {
  /** Largest |value| stored in the normalised rows. */
  maxAbs: number;
  /** First row whose sum of squares is not finite (left untouched, nothing after it done), or -1. */
  badRow: number;
}

export function normalizeRows32(data: Float32Array, dims: number, from: number, to: number, zeroRow: Uint8Array): NormalizedRange;
export function normalizeRows64(data: Float64Array, dims: number, from: number, to: number, zeroRow: Uint8Array): NormalizedRange;
export function quantizeRows32(unit: Float32Array, dims: number, from: number, to: number, scale: number, out: Uint8Array): number;
export function quantizeRows64(unit: Float64Array, dims: number, from: number, to: number, scale: number, out: Uint8Array): number;
export function transposeBlock(rowsU8: Uint8Array, blocks: Int8Array, start: number, width: number, dims: number): void;
export function dot32(unit: Float32Array, dims: number, i: number, j: number): number;
export function dot64(unit: Float64Array, dims: number, i: number, j: number): number;

/** Rows on a SharedArrayBuffer, as the share functions take them. */
export interface SharedRows {
  dtype: "float32" | "float64";
  unit: SharedArrayBuffer;
  byteOffset: number;
  rows: number;
  dims: number;
}

export interface NormalizeJob extends SharedRows {
  /** Uint8Array(rows): 1 marks a zero row. */
  zeroRow: SharedArrayBuffer;
  chunkRows: number;
  /** Int32Array(2): [next piece, pieces done]. */
  control: SharedArrayBuffer;
  /** Float64Array(pieces): each piece's largest |value|. */
  maxAbs: SharedArrayBuffer;
  /** Int32Array(pieces): each piece's first bad row, or -1. */
  badRow: SharedArrayBuffer;
}

export interface QuantizeJob extends SharedRows {
  tile: number;
  scale: number;
  /** Uint8Array(rows * dims): q + 128, row-major. */
  rowsU8: SharedArrayBuffer;
  /** Int8Array(rows * dims): q, each tile-row block transposed. */
  blocks: SharedArrayBuffer;
  /** Int32Array(2): [next block, blocks done]. */
  control: SharedArrayBuffer;
  /** Float64Array(blocks): each block's largest squared rounding error. */
  worst: SharedArrayBuffer;
}

export function normalizeShare(job: NormalizeJob): void;
export function quantizeShare(job: QuantizeJob): void;
export function unitView(job: SharedRows): Float32Array | Float64Array;
