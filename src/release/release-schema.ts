/**
 * The release's columns as Arrow types and `datasets` features, and row-group-sized Arrow record
 * batches built straight from buffers (no per-value boxing: the image bytes are copied once).
 *
 * Types and metadata follow ../shared/docs/hf-parquet-and-card.md ("Arrow / Parquet schema"):
 * `image` is a nullable Struct<bytes: Binary, path: Utf8>, strings are Utf8, integers Int64, every
 * field nullable, and the `huggingface` features JSON sits on the Arrow schema itself (pyarrow reads
 * schema metadata only from the embedded `ARROW:schema`).
 */
import { Binary, Bool, Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from "apache-arrow";
import type { Data, DataType } from "apache-arrow";
import type { HfFeature } from "./release-data-info.ts";

export type ReleaseColumnType = "image" | "string" | "int64" | "float64" | "bool";

export interface ReleaseColumn {
  /** Column name in the Parquet file and in the features. */
  name: string;
  /** Storage type. ClassLabel columns are `int64`. */
  type: ReleaseColumnType;
  /** The `datasets` feature written in the metadata and the card. */
  feature: HfFeature;
}

/** An `image` cell: the encoded file and its bare file name, as `datasets` stores images. */
export interface ImageCell {
  bytes: Uint8Array | null;
  path: string | null;
}

/** One release row: column name -> value (null or missing is a null cell). */
export type ReleaseRow = Record<string, unknown>;

/** The four columns every release has, in order (the schema). */
export const CORE_COLUMNS: readonly ReleaseColumn[] = [
  { name: "image", type: "image", feature: { _type: "Image" } },
  { name: "file_name", type: "string", feature: { _type: "Value", dtype: "string" } },
  { name: "cluster_id", type: "int64", feature: { _type: "Value", dtype: "int64" } },
  { name: "cluster_size", type: "int64", feature: { _type: "Value", dtype: "int64" } },
];

const imageStruct = (): Struct => new Struct([new Field("bytes", new Binary(), true), new Field("path", new Utf8(), true)]);

function arrowType(type: ReleaseColumnType): DataType {
  switch (type) {
    case "image":
      return imageStruct();
    case "string":
      return new Utf8();
    case "int64":
      return new Int64();
    case "float64":
      return new Float64();
    case "bool":
      return new Bool();
  }
}

/** The `huggingface` metadata value: `{"info": {"features": {...}}}` in column order. */
export function huggingfaceMetadata(columns: readonly ReleaseColumn[]): string {
  const features: Record<string, HfFeature> = {};
  for (const column of columns) features[column.name] = featureJson(column.feature);
  return JSON.stringify({ info: { features } });
}

// Key order as `datasets` writes it (`_type` last), so the JSON reads like push_to_hub's.
function featureJson(feature: HfFeature): HfFeature {
  if (feature._type === "Value") return { dtype: feature.dtype, _type: "Value" } as HfFeature;
  if (feature._type === "ClassLabel") return { names: feature.names, _type: "ClassLabel" } as HfFeature;
  return { _type: "Image" };
}

export function releaseArrowSchema(columns: readonly ReleaseColumn[]): Schema {
  return new Schema(
    columns.map((c) => new Field(c.name, arrowType(c.type), true)),
    new Map([["huggingface", huggingfaceMetadata(columns)]]),
  );
}

const encoder = new TextEncoder();

function utf8Bytes(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return encoder.encode(typeof value === "string" ? value : String(value));
}

class Validity {
  readonly bitmap: Uint8Array;
  nullCount = 0;
  constructor(readonly length: number) {
    this.bitmap = new Uint8Array(Math.ceil(length / 8));
  }
  set(i: number, valid: boolean): void {
    if (valid) this.bitmap[i >> 3]! |= 1 << (i & 7);
    else this.nullCount++;
  }
  packed(): { validity: Uint8Array | null; nullCount: number } {
    return { validity: this.nullCount === 0 ? null : this.bitmap, nullCount: this.nullCount };
  }
}

/** Values and offsets of a Binary/Utf8 column, in Arrow's layout. */
export interface PackedVariable {
  offsets: Int32Array;
  data: Uint8Array;
  validity: Uint8Array | null;
  nullCount: number;
}

/**
 * One row group's columns as flat Arrow buffers: what crosses to an encoder worker (the buffers
 * are transferred, not copied) and what the Arrow batch is built on without another copy.
 */
export type PackedColumn =
  | ({ kind: "variable" } & PackedVariable)
  | { kind: "image"; bytes: PackedVariable; path: PackedVariable; validity: Uint8Array | null; nullCount: number }
  | { kind: "fixed"; data: BigInt64Array | Float64Array | Uint8Array; validity: Uint8Array | null; nullCount: number };

export interface PackedRowGroup {
  rows: number;
  columns: PackedColumn[];
}

/** A reused buffer (see IpcScratch in ipc-stream.ts: fresh multi-megabyte buffers cost more than copies). */
export interface ByteScratch {
  get(size: number): Uint8Array;
}

function packVariable(cells: (Uint8Array | null)[], scratch?: ByteScratch): PackedVariable {
  const validity = new Validity(cells.length);
  const offsets = new Int32Array(cells.length + 1);
  let total = 0;
  cells.forEach((cell, i) => {
    validity.set(i, cell !== null);
    total += cell?.length ?? 0;
    if (total > 0x7fffffff) throw new Error("a row group holds more than 2 GiB of one column; lower release.row_group_size");
    offsets[i + 1] = total;
  });
  const data = scratch ? scratch.get(total) : new Uint8Array(total);
  cells.forEach((cell, i) => {
    if (cell) data.set(cell, offsets[i]!);
  });
  return { offsets, data, ...validity.packed() };
}

function packColumn(column: ReleaseColumn, values: unknown[], scratch?: ByteScratch): PackedColumn {
  const n = values.length;
  switch (column.type) {
    case "image": {
      const validity = new Validity(n);
      const bytes: (Uint8Array | null)[] = [];
      const paths: (Uint8Array | null)[] = [];
      values.forEach((value, i) => {
        const cell = (value ?? null) as ImageCell | null;
        validity.set(i, cell !== null);
        bytes.push(cell?.bytes ?? null);
        paths.push(utf8Bytes(cell?.path ?? null));
      });
      return { kind: "image", bytes: packVariable(bytes, scratch), path: packVariable(paths), ...validity.packed() };
    }
    case "string":
      return { kind: "variable", ...packVariable(values.map(utf8Bytes)) };
    case "int64": {
      const validity = new Validity(n);
      const data = new BigInt64Array(n);
      values.forEach((value, i) => {
        const valid = value !== null && value !== undefined;
        validity.set(i, valid);
        if (valid) data[i] = typeof value === "bigint" ? value : BigInt(value as number);
      });
      return { kind: "fixed", data, ...validity.packed() };
    }
    case "float64": {
      const validity = new Validity(n);
      const data = new Float64Array(n);
      values.forEach((value, i) => {
        const valid = value !== null && value !== undefined;
        validity.set(i, valid);
        if (valid) data[i] = Number(value);
      });
      return { kind: "fixed", data, ...validity.packed() };
    }
    case "bool": {
      const validity = new Validity(n);
      const data = new Uint8Array(Math.ceil(n / 8));
      values.forEach((value, i) => {
        const valid = value !== null && value !== undefined;
        validity.set(i, valid);
        if (valid && value) data[i >> 3]! |= 1 << (i & 7);
      });
      return { kind: "fixed", data, ...validity.packed() };
    }
  }
}

/**
 * Packs rows into flat column buffers (the one copy of the image bytes on the way to Arrow). With
 * `scratch` (one image column only), the image bytes land in its reused buffer: valid until the
 * next call with the same scratch.
 */
export function packRowGroup(columns: readonly ReleaseColumn[], rows: readonly ReleaseRow[], scratch?: ByteScratch): PackedRowGroup {
  return { rows: rows.length, columns: columns.map((column) => packColumn(column, rows.map((row) => row[column.name] ?? null), scratch)) };
}

/** The buffers of a packed row group, to transfer to a worker. */
export function transferablesOf(packed: PackedRowGroup): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (view: ArrayBufferView | null) => {
    if (view) out.add(view.buffer as ArrayBuffer);
  };
  for (const column of packed.columns) {
    add(column.validity);
    if (column.kind === "image") [column.bytes, column.path].forEach((v) => [v.offsets, v.data, v.validity].forEach(add));
    else if (column.kind === "variable") [column.offsets, column.data].forEach(add);
    else add(column.data);
  }
  return [...out];
}

function nullProps(validity: Uint8Array | null, nullCount: number): { nullCount: number; nullBitmap?: Uint8Array } {
  return validity ? { nullCount, nullBitmap: validity } : { nullCount: 0 };
}

function variableData(type: Binary | Utf8, v: PackedVariable): Data {
  return makeData({ type, length: v.offsets.length - 1, valueOffsets: v.offsets, data: v.data, ...nullProps(v.validity, v.nullCount) } as never);
}

function columnData(column: ReleaseColumn, packed: PackedColumn, length: number): Data {
  if (packed.kind === "image") {
    return makeData({
      type: imageStruct(),
      length,
      children: [variableData(new Binary(), packed.bytes), variableData(new Utf8(), packed.path)],
      ...nullProps(packed.validity, packed.nullCount),
    } as never);
  }
  if (packed.kind === "variable") return variableData(new Utf8(), packed);
  const type = column.type === "int64" ? new Int64() : column.type === "float64" ? new Float64() : new Bool();
  return makeData({ type, length, data: packed.data, ...nullProps(packed.validity, packed.nullCount) } as never);
}

/** An Arrow record batch of a packed row group, on the packed buffers (no copy). */
export function recordBatchOfPacked(schema: Schema, columns: readonly ReleaseColumn[], packed: PackedRowGroup): RecordBatch {
  const children = columns.map((column, i) => columnData(column, packed.columns[i]!, packed.rows));
  const struct = makeData({ type: new Struct(schema.fields), length: packed.rows, nullCount: 0, children });
  return new RecordBatch(schema, struct);
}

/** An Arrow record batch of `rows` with the release schema (metadata included). */
export function releaseRecordBatch(schema: Schema, columns: readonly ReleaseColumn[], rows: readonly ReleaseRow[]): RecordBatch {
  return recordBatchOfPacked(schema, columns, packRowGroup(columns, rows));
}

/**
 * Arrow in-memory bytes of the split, as pyarrow's `Table.nbytes` counts a single-chunk table:
 * value buffers, 4-byte offsets (n + 1 per variable-width column) and a validity bitmap only for
 * columns that hold nulls. This is `num_bytes` in the card and what sharding divides
 * (../shared/docs/hf-parquet-and-card.md, "Files and sharding" and the YAML header).
 */
export class ArrowSizeCounter {
  private rows = 0;
  private dataBytes = 0;
  private readonly hasNulls = new Map<string, boolean>();

  constructor(private readonly columns: readonly ReleaseColumn[]) {}

  /** Counts one row. */
  add(row: ReleaseRow): void {
    this.rows++;
    for (const column of this.columns) {
      const value = row[column.name] ?? null;
      if (value === null) this.hasNulls.set(column.name, true);
      switch (column.type) {
        case "image": {
          const cell = value as ImageCell | null;
          if (cell?.bytes === null || cell?.bytes === undefined) this.hasNulls.set(`${column.name}.bytes`, true);
          if (cell?.path === null || cell?.path === undefined) this.hasNulls.set(`${column.name}.path`, true);
          this.dataBytes += (cell?.bytes?.length ?? 0) + (cell?.path ? encoder.encode(cell.path).length : 0);
          break;
        }
        case "string":
          this.dataBytes += value === null ? 0 : encoder.encode(String(value)).length;
          break;
        case "int64":
        case "float64":
          this.dataBytes += 8;
          break;
        case "bool":
          break;
      }
    }
  }

  get rowCount(): number {
    return this.rows;
  }

  /** The total so far. */
  bytes(): number {
    const n = this.rows;
    const bitmap = Math.ceil(n / 8);
    let total = this.dataBytes;
    for (const column of this.columns) {
      if (column.type === "image") total += 2 * 4 * (n + 1);
      if (column.type === "string") total += 4 * (n + 1);
      if (column.type === "bool") total += bitmap;
    }
    for (const nulls of this.hasNulls.values()) if (nulls) total += bitmap;
    return n === 0 ? 0 : total;
  }
}
