/**
 * Encodes one row group as a standalone Parquet file with parquet-wasm: the unit the shard writer
 * splices into a shard (parquet-shard-writer.ts). Pure and deterministic, so it runs the same on
 * the main thread or in an encoder worker (row-group-encoder-pool.ts).
 */
import { Compression, Encoding, Table as WasmTable, WriterPropertiesBuilder, wasmMemory, writeParquet } from "parquet-wasm";
import type { WriterProperties } from "parquet-wasm";
import { ipcStreamOf, type IpcScratch } from "./ipc-stream.ts";
import { huggingfaceMetadata, recordBatchOfPacked, releaseArrowSchema } from "./release-schema.ts";
import type { PackedRowGroup, ReleaseColumn } from "./release-schema.ts";

export interface RowGroupEncoding {
  /** Columns in order. */
  columns: readonly ReleaseColumn[];
  /** Most rows per row group (the batch must not exceed it). */
  rowGroupSize: number;
  /** Rows per Parquet write batch: parquet-wasm cuts data pages only between batches. */
  writeBatchSize: number;
}

/**
 * The writer properties of a release shard (../shared/docs/hf-parquet-and-card.md, "Arrow /
 * Parquet schema"): image leaves uncompressed, PLAIN, no dictionary; scalar columns snappy with
 * dictionary; the `huggingface` features as a key/value entry; page index on (parquet-rs default).
 */
export function releaseWriterProperties(params: RowGroupEncoding): WriterProperties {
  // parquet-wasm's per-column options match top-level names only, never struct leaves (probed:
  // "image" and "image.bytes" both leave image.bytes snappy + dictionary). So the defaults are the
  // image rule and every scalar column opts into snappy + dictionary by name.
  let builder = new WriterPropertiesBuilder()
    .setMaxRowGroupSize(params.rowGroupSize)
    .setWriteBatchSize(params.writeBatchSize)
    .setCompression(Compression.UNCOMPRESSED)
    .setDictionaryEnabled(false)
    .setEncoding(Encoding.PLAIN)
    // pyarrow copies the huggingface schema metadata into the key/value entries; parquet-wasm
    // does not, so it is set here too (the ARROW:schema entry carries the Arrow schema's copy).
    .setKeyValueMetadata(new Map([["huggingface", huggingfaceMetadata(params.columns)]]));
  for (const column of params.columns) {
    if (column.type === "image") continue;
    builder = builder.setColumnCompression(column.name, Compression.SNAPPY).setColumnDictionaryEnabled(column.name, true);
  }
  return builder.build();
}

const typedArraySlice = Uint8Array.prototype.slice;

/**
 * `writeParquet`, with its result copied into `output`'s reused buffer instead of a fresh one.
 *
 * parquet-wasm's glue returns `wasmBytes.subarray(ptr, ptr + len).slice()` and frees the wasm copy
 * (node_modules/parquet-wasm/node/parquet_wasm.js, `writeParquet`); that `.slice()` into a fresh
 * multi-megabyte buffer per row group was the largest single cost of the writer (27 % of its CPU
 * time under --cpu-prof: page faults and zeroing of new memory, not the copy). The glue calls
 * `.slice()` exactly once in `writeParquet` (checked in its source), synchronously, so for the
 * duration of that call `Uint8Array.prototype.slice` copies views of the wasm memory into `output`
 * instead; anything else gets the standard slice. The bytes are the same either way.
 */
export function writeParquetInto(table: WasmTable, properties: WriterProperties, output: IpcScratch): Uint8Array {
  let copied: Uint8Array | undefined;
  const prototype = Uint8Array.prototype as { slice: typeof typedArraySlice };
  prototype.slice = function (this: Uint8Array, ...args: [number?, number?]): Uint8Array<ArrayBuffer> {
    if (args.length > 0 || copied || this.buffer !== (wasmMemory() as { buffer: ArrayBufferLike }).buffer) return typedArraySlice.apply(this, args);
    copied = output.get(this.length);
    copied.set(this);
    return copied as Uint8Array<ArrayBuffer>;
  };
  let result: Uint8Array;
  try {
    result = writeParquet(table, properties);
  } finally {
    delete (prototype as { slice?: unknown }).slice;
  }
  if (result !== copied) throw new Error("parquet-wasm's writeParquet did not copy its result as expected");
  return result;
}

/**
 * The row group as a complete one-row-group Parquet file; `scratch` is reused for the Arrow IPC
 * bytes. With `output`, the file lives in its reused buffer, valid until the next call with it.
 */
export function encodeRowGroup(encoding: RowGroupEncoding, packed: PackedRowGroup, scratch?: IpcScratch, output?: IpcScratch): Uint8Array {
  const schema = releaseArrowSchema(encoding.columns);
  const batch = recordBatchOfPacked(schema, encoding.columns, packed);
  const table = WasmTable.fromIPCStream(ipcStreamOf(batch, scratch));
  const properties = releaseWriterProperties(encoding);
  return output ? writeParquetInto(table, properties, output) : writeParquet(table, properties);
}
