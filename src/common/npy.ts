/**
 * numpy `.npy` files (format versions 1.0-3.0), so Python users can compare our arrays directly
 * with `np.load`. Little-endian float32 / float64 / int64 / int32, C order only: that is what
 * `np.save` writes for the arrays this tool exchanges (embeddings in, labels out).
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { closeSync, openSync, readFileSync, writeSync, fstatSync, readSync } from "node:fs";
import { UsageError } from "./errors.ts";

export type NpyDtype = "float32" | "float64" | "int64" | "int32";

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array;

export interface NpyArray<D extends NpyData = NpyData> {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions, outermost first (C order). `[]` is a scalar. */
  shape: number[];
  /** The elements in C (row-major) order; length = product of shape. */
  data: D;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DESCR: Record<NpyDtype, string> = { float32: "<f4", float64: "<f8", int64: "<i8", int32: "<i4" };
const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, int64: 8, int32: 4 };

function dtypeOfDescr(descr: string): NpyDtype | undefined {
  // "=" (native) is little-endian on every platform Node runs us on; "|" only for 1-byte types.
  const normal = descr.replace(/^=/, "<");
  for (const [dtype, d] of Object.entries(DESCR)) if (d === normal) return dtype as NpyDtype;
  return undefined;
}

function dtypeOfData(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  return "int32";
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Header dict text exactly as numpy writes it, padded so the data starts on a 64-byte boundary. */
function encodeHeader(dtype: NpyDtype, shape: readonly number[], minTotal = 0): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1.0 stores the header length in 2 bytes; larger headers need version 2.0 (4 bytes).
  const v1 = dict.length + 11 < 65536;
  const prefix = v1 ? 10 : 12;
  let total = prefix + dict.length + 1;
  total = Math.max(Math.ceil(total / 64) * 64, minTotal);
  dict = dict.padEnd(total - prefix - 1, " ") + "\n";
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, "latin1"), prefix);
  return out;
}

interface ParsedHeader {
  dtype: NpyDtype;
  shape: number[];
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array, source: string): ParsedHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UsageError(`${source}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let prefix: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    prefix = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new UsageError(`${source}: truncated .npy header`);
    headerLength = view.getUint32(8, true);
    prefix = 12;
  } else {
    throw new UsageError(`${source}: unsupported .npy format version ${major}`);
  }
  if (bytes.length < prefix + headerLength) throw new UsageError(`${source}: truncated .npy header`);
  const text = Buffer.from(bytes.subarray(prefix, prefix + headerLength)).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UsageError(`${source}: malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const dtype = dtypeOfDescr(descr);
  if (!dtype) {
    throw new UsageError(
      `${source}: unsupported dtype '${descr}' (expected little-endian float32 '<f4', float64 '<f8', int64 '<i8' or int32 '<i4')`,
    );
  }
  if (fortran === "True") {
    throw new UsageError(
      `${source}: array is stored in Fortran order; save it in C order (np.save(path, np.ascontiguousarray(x)))`,
    );
  }
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ""));
      if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${source}: bad shape (${shapeText})`);
      return n;
    });
  return { dtype, shape, dataOffset: prefix + headerLength };
}

/** Parses `.npy` bytes. `source` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, source = "<npy>"): NpyArray {
  const { dtype, shape, dataOffset } = parseHeader(bytes, source);
  const count = product(shape);
  const need = count * BYTES[dtype];
  const have = bytes.length - dataOffset;
  if (have < need) {
    throw new UsageError(
      `${source}: truncated .npy file: shape (${shape.join(", ")}) needs ${need} data bytes, found ${have}`,
    );
  }
  if (have > need) throw new UsageError(`${source}: ${have - need} unexpected bytes after the .npy data`);
  // Typed arrays need aligned offsets; copy only when the buffer does not give us one.
  const start = bytes.byteOffset + dataOffset;
  const buffer =
    start % BYTES[dtype] === 0
      ? bytes.buffer
      : bytes.slice(dataOffset, dataOffset + need).buffer;
  const offset = start % BYTES[dtype] === 0 ? start : 0;
  const data =
    dtype === "float32"
      ? new Float32Array(buffer, offset, count)
      : dtype === "float64"
        ? new Float64Array(buffer, offset, count)
        : dtype === "int64"
          ? new BigInt64Array(buffer, offset, count)
          : new Int32Array(buffer, offset, count);
  return { dtype, shape, data };
}

/** Reads a `.npy` file; bad or truncated files throw a `UsageError` naming the file. */
export function readNpy(path: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  return parseNpy(bytes, path);
}

/** Reads only the header: dtype and shape, without loading the data; errors name the file as `readNpy`'s do. */
export function readNpyHeader(path: string): { dtype: NpyDtype; shape: number[] } {
  let head: Uint8Array;
  try {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      head = new Uint8Array(Math.min(size, 65536 + 12));
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  const { dtype, shape } = parseHeader(head, path);
  return { dtype, shape };
}

/** Serialises an array to `.npy` bytes (format 1.0, C order). */
export function encodeNpy(array: { shape: readonly number[]; data: NpyData }): Uint8Array {
  const dtype = dtypeOfData(array.data);
  if (product(array.shape) !== array.data.length) {
    throw new Error(`npy: shape (${array.shape.join(", ")}) does not match ${array.data.length} elements`);
  }
  const header = encodeHeader(dtype, array.shape);
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Writes an array to a `.npy` file (little-endian, C order). The dtype follows the typed array. */
export function writeNpy(path: string, array: { shape: readonly number[]; data: NpyData }): void {
  const fd = openSync(path, "w");
  try {
    const dtype = dtypeOfData(array.data);
    if (product(array.shape) !== array.data.length) {
      throw new Error(`npy: shape (${array.shape.join(", ")}) does not match ${array.data.length} elements`);
    }
    writeSync(fd, encodeHeader(dtype, array.shape));
    writeSync(fd, new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength));
  } finally {
    closeSync(fd);
  }
}

/** int64 labels from plain numbers (the usual way labels leave this tool). */
export function int64Array(values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
  return out;
}

export interface NpyWriterParams {
  /** Output path (truncated when opened). */
  path: string;
  /** Element type of every appended row. */
  dtype: NpyDtype;
  /** Shape of one row (e.g. `[512]` for embeddings); rows are appended along a new first axis. */
  rowShape: readonly number[];
}

/**
 * Appends rows to a `.npy` file whose first dimension grows as rows arrive (embedding batches).
 * The header is written with room to spare and rewritten with the final row count on `close()`,
 * so a crash leaves a file whose header says 0 rows rather than a lie.
 */
export class NpyWriter {
  private readonly fd: number;
  private readonly rowLength: number;
  private readonly headerLength: number;
  private rows = 0;
  private closed = false;

  constructor(private readonly params: NpyWriterParams) {
    this.rowLength = product(params.rowShape);
    // Room for any row count up to 2^53 without changing the header length.
    const widest = encodeHeader(params.dtype, [Number.MAX_SAFE_INTEGER, ...params.rowShape]);
    this.headerLength = widest.length;
    this.fd = openSync(params.path, "w");
    writeSync(this.fd, encodeHeader(params.dtype, [0, ...params.rowShape], this.headerLength));
  }

  /** Number of rows appended so far. */
  get rowCount(): number {
    return this.rows;
  }

  /** Appends one or more whole rows (data length must be a multiple of the row length). */
  append(data: NpyData): void {
    if (this.closed) throw new Error(`npy: ${this.params.path} is closed`);
    if (dtypeOfData(data) !== this.params.dtype) {
      throw new Error(`npy: ${this.params.path} holds ${this.params.dtype}, got ${dtypeOfData(data)}`);
    }
    if (this.rowLength === 0 ? data.length !== 0 : data.length % this.rowLength !== 0) {
      throw new Error(`npy: ${data.length} elements is not a whole number of rows of ${this.rowLength}`);
    }
    writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.rows += this.rowLength === 0 ? 0 : data.length / this.rowLength;
  }

  /** Rewrites the header with the final row count and closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      writeSync(this.fd, encodeHeader(this.params.dtype, [this.rows, ...this.params.rowShape], this.headerLength), 0, this.headerLength, 0);
    } finally {
      closeSync(this.fd);
    }
  }
}
