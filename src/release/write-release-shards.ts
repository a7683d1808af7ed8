/**
 * Writes a split as Parquet shards exactly as `push_to_hub` lays them out
 * (../shared/docs/hf-parquet-and-card.md): `data/{split}-{i:05d}-of-{n:05d}.parquet`, contiguous
 * shards planned from the Arrow size, row groups of at most `rowGroupSize` rows, image leaves
 * uncompressed PLAIN without dictionary, scalar columns snappy with dictionary, page index on, and
 * the `huggingface` features both in `ARROW:schema` and as a key/value entry.
 *
 * Streaming: rows arrive from an async iterable; one row group is in memory at a time. The caller
 * knows the row count and Arrow size up front (a first pass), because the shard count depends on it.
 * Deterministic: same rows -> same bytes (parquet-wasm writes no timestamps; we add none).
 */
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { releaseWriterProperties } from "./encode-row-group.ts";
import { ParquetShardWriter } from "./parquet-shard-writer.ts";
import { planShards } from "./plan-shards.ts";
import type { ReleaseDataInfo, ReleaseShard } from "./release-data-info.ts";
import { packRowGroup, releaseArrowSchema } from "./release-schema.ts";
import { RowGroupEncoderPool } from "./row-group-encoder-pool.ts";
import type { ReleaseColumn, ReleaseRow } from "./release-schema.ts";

export interface WriteReleaseShardsParams {
  /** Release folder; shards go to `<outDir>/data/`. */
  outDir: string;
  /** Split name (`train`). */
  split: string;
  /** Columns in order. */
  columns: readonly ReleaseColumn[];
  /** Rows in release order; iterated once. */
  rows: AsyncIterable<ReleaseRow> | Iterable<ReleaseRow>;
  /** Number of rows `rows` yields. */
  numRows: number;
  /** Arrow in-memory bytes of those rows (`ArrowSizeCounter`). */
  numBytes: number;
  /** Most bytes of data per shard. */
  maxShardSize: number;
  /** Most rows per row group (100 for image datasets). */
  rowGroupSize: number;
  /** Called after each row group with the rows written so far. */
  onProgress?: (rowsWritten: number) => void;
  /** Encoder worker threads (default: cores - 1, at most 4, none on 1-2 cores); 0 encodes inline. */
  encodeWorkers?: number;
}

/** Bytes of image data per Parquet page: pages are cut after each write batch of rows. */
const TARGET_PAGE_BYTES = 1024 * 1024;

export { releaseWriterProperties };

async function removeStaleShards(dataDir: string, split: string, keep: Set<string>): Promise<void> {
  const names = await readdir(dataDir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(`${split}-`) && name.endsWith(".parquet") && !keep.has(name)) await rm(join(dataDir, name), { force: true });
  }
}

export async function writeReleaseShards(params: WriteReleaseShardsParams): Promise<ReleaseDataInfo> {
  const { columns, split } = params;
  if (!Number.isInteger(params.rowGroupSize) || params.rowGroupSize < 1) {
    throw new Error(`row group size must be a positive integer, got ${params.rowGroupSize}`);
  }
  const plan = planShards({ numRows: params.numRows, numBytes: params.numBytes, maxShardSize: params.maxShardSize, split });
  const schema = releaseArrowSchema(columns);
  const averageRowBytes = params.numRows > 0 ? params.numBytes / params.numRows : 1;
  const writeBatchSize = Math.max(1, Math.min(params.rowGroupSize, Math.floor(TARGET_PAGE_BYTES / averageRowBytes)));
  const encoding = { columns: [...columns], rowGroupSize: params.rowGroupSize, writeBatchSize };
  const writerProperties = () => releaseWriterProperties(encoding);
  const dataDir = join(params.outDir, "data");
  await mkdir(dataDir, { recursive: true });

  const shards: ReleaseShard[] = [];
  const iterator = (Symbol.asyncIterator in params.rows
    ? (params.rows as AsyncIterable<ReleaseRow>)[Symbol.asyncIterator]()
    : (params.rows as Iterable<ReleaseRow>)[Symbol.iterator]()) as AsyncIterator<ReleaseRow> | Iterator<ReleaseRow>;
  let written = 0;
  const pool = new RowGroupEncoderPool(params.encodeWorkers);
  // Row groups being encoded, oldest first; a few more than the workers keep them all busy.
  const depth = Math.max(1, pool.size * 2);
  try {
    for (const range of plan) {
      const finalPath = join(params.outDir, range.path);
      const temporary = `${finalPath}.tmp-${process.pid}`;
      const writer = new ParquetShardWriter({ path: temporary, schema, writerProperties });
      const window: { encoded: Promise<Uint8Array>; rows: number }[] = [];
      const appendOldest = async () => {
        const oldest = window.shift()!;
        await writer.appendEncoded(await oldest.encoded, oldest.rows);
        written += oldest.rows;
        params.onProgress?.(written);
      };
      try {
        let remaining = range.end - range.start;
        while (remaining > 0) {
          const take = Math.min(remaining, params.rowGroupSize);
          const group: ReleaseRow[] = [];
          for (let i = 0; i < take; i++) {
            const next = await iterator.next();
            if (next.done) throw new Error(`the rows ended after ${written + window.reduce((s, w) => s + w.rows, 0) + group.length} of the ${params.numRows} announced`);
            group.push(next.value);
          }
          const encoded = pool.encode(encoding, packRowGroup(columns, group, pool.packingScratch));
          encoded.catch(() => undefined); // awaited in order by appendOldest; this only silences the wait
          window.push({ encoded, rows: take });
          remaining -= take;
          if (window.length >= depth) await appendOldest();
        }
        while (window.length > 0) await appendOldest();
        const bytes = await writer.close();
        await rename(temporary, finalPath);
        shards.push({ path: range.path, rows: range.end - range.start, bytes });
      } catch (error) {
        await writer.abort();
        await rm(temporary, { force: true });
        throw error;
      }
    }
  } finally {
    await pool.close();
  }
  if (!(await iterator.next()).done) throw new Error(`the rows did not end after the ${params.numRows} announced`);
  await removeStaleShards(dataDir, split, new Set(shards.map((s) => s.path.slice("data/".length))));

  const downloadSize = shards.reduce((sum, s) => sum + s.bytes, 0);
  return {
    split,
    features: columns.map((c) => [c.name, c.feature]),
    shards,
    numExamples: params.numRows,
    numBytes: params.numBytes,
    downloadSize,
    datasetSize: params.numBytes,
  };
}
