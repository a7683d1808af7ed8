/**
 * Encodes one row group as a standalone Parquet file with parquet-wasm: the unit the shard writer
 * splices into a shard (parquet-shard-writer.ts). Pure and deterministic, so it runs the same on
 * the main thread or in an encoder worker (row-group-encoder-pool.ts).
 */
import { Compression, Encoding, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";
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

/** The row group as a complete one-row-group Parquet file; `scratch` is reused for the Arrow IPC bytes. */
export function encodeRowGroup(encoding: RowGroupEncoding, packed: PackedRowGroup, scratch?: IpcScratch): Uint8Array {
  const schema = releaseArrowSchema(encoding.columns);
  const batch = recordBatchOfPacked(schema, encoding.columns, packed);
  return writeParquet(WasmTable.fromIPCStream(ipcStreamOf(batch, scratch)), releaseWriterProperties(encoding));
}
