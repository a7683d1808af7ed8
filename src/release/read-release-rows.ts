/**
 * Reads a release folder's rows back in published order (shards by name, rows by position):
 * `file_name`, `cluster_id` and the SHA-256 of the image bytes. The key for stable ids and for
 * `verify --against`. DuckDB reads the shards (the same independent reader `verify` uses).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { openDuckDb, sqlString } from "./open-duckdb.ts";

export interface ReleaseRows {
  fileNames: (string | null)[];
  /** SHA-256 (hex) of `image.bytes`; "" for a row without bytes. */
  keys: string[];
  /**
   * Identity of each row: its `cluster_id`, or null for a row without an identity (DBSCAN noise kept
   * as -1, or an image without a face, null in the shard; see label-counts.ts), so stable ids and
   * `verify --against` never treat the noise rows as one identity.
   */
  ids: (bigint | null)[];
}


/** `data/<split>-NNNNN-of-NNNNN.parquet` files of the folder, in name (= row) order. */
export async function releaseShardFiles(folder: string, split: string): Promise<string[]> {
  const names = await readdir(join(folder, "data")).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(`${split}-`) && n.endsWith(".parquet"))
    .sort()
    .map((n) => join(folder, "data", n));
}

export async function readReleaseRows(params: {
  /** Release folder (or Hub snapshot) holding `data/`. */
  folder: string;
  /** Split whose shards to read. */
  split: string;
}): Promise<ReleaseRows> {
  const files = await releaseShardFiles(params.folder, params.split);
  if (files.length === 0) throw new UsageError(`${params.folder} has no data/${params.split}-*.parquet shards`);
  const db = await openDuckDb();
  const rows: ReleaseRows = { fileNames: [], keys: [], ids: [] };
  try {
    for (const file of files) {
      const read = await db.all(
        `select file_name, cluster_id, lower(sha256(image.bytes)) as key
           from read_parquet(${sqlString(file)}, file_row_number = true) order by file_row_number`,
      );
      for (const r of read) {
        rows.fileNames.push(r.file_name == null ? null : String(r.file_name));
        rows.keys.push(r.key == null ? "" : String(r.key));
        const id = r.cluster_id == null ? null : BigInt(r.cluster_id as bigint | number);
        rows.ids.push(id === null || id < 0n ? null : id);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the release rows of ${params.folder}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    db.close();
  }
  return rows;
}
