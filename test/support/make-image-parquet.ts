/**
 * Builds a Parquet shard shaped like the Hub's image datasets (`jxie/celeba-hq`): column `image` =
 * Struct<bytes: Binary, path: Utf8> (children in that order, all nullable), plus an Int64 `label`,
 * written by parquet-wasm with small row groups so readers must walk several of them. Used to fake
 * a pulled snapshot in tests (../shared/docs/hf-parquet-and-card.md).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Binary, Field, Int64, Struct, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";

export interface ImageParquetRow {
  /** Encoded image; null makes a row without bytes. */
  bytes: Uint8Array | null;
  /** `image.path`; null like rows `datasets` wrote from in-memory images. */
  path: string | null;
  /** Int64 `label` cell. */
  label?: number;
}

export interface MakeImageParquetParams {
  rows: ImageParquetRow[];
  /** Rows per row group (default 4). */
  rowGroupSize?: number;
  /** Where to write the shard; the parent folders are created. */
  file: string;
}

/** Writes the shard and returns its bytes. */
export async function makeImageParquet(params: MakeImageParquetParams): Promise<Uint8Array> {
  const imageType = new Struct([new Field("bytes", new Binary(), true), new Field("path", new Utf8(), true)]);
  const image = vectorFromArray(
    params.rows.map((r) => ({ bytes: r.bytes, path: r.path })),
    imageType,
  );
  const label = vectorFromArray(
    params.rows.map((r) => BigInt(r.label ?? 0)),
    new Int64(),
  );
  const table = new Table({ image, label });
  const properties = new WriterPropertiesBuilder()
    .setMaxRowGroupSize(params.rowGroupSize ?? 4)
    .setWriteBatchSize(params.rowGroupSize ?? 4)
    .build();
  const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(table, "stream")), properties);
  await mkdir(dirname(params.file), { recursive: true });
  await writeFile(params.file, bytes);
  return bytes;
}
