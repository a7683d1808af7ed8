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
