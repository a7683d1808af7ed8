/**
 * How `datasets.Dataset.push_to_hub` splits a split into Parquet shards
 * (../shared/docs/hf-parquet-and-card.md, "Files and sharding"): the number of shards comes from
 * the Arrow size, `int(nbytes / max_shard_size) + 1` as in `datasets`' `_push_parquet_shards_to_hub`,
 * then `Dataset.shard(num_shards, index, contiguous=True)` cuts contiguous runs of rows where the
 * first `n % k` shards get one extra row. Shards are cut by row count, not by bytes.
 */
import { UsageError } from "../common/errors.ts";

export interface ShardRange {
  /** Shard index. */
  index: number;
  /** First row (inclusive). */
  start: number;
  /** Last row (exclusive). */
  end: number;
  /** Repo path: `data/{split}-{index:05d}-of-{count:05d}.parquet`. */
  path: string;
}

export interface PlanShardsParams {
  /** Rows in the split. */
  numRows: number;
  /** Arrow in-memory bytes of the split. */
  numBytes: number;
  /** Most bytes of data per shard (500 MB = 500 * 10^6 by default). */
  maxShardSize: number;
  /** Split name, `^\w+(\.\w+)*$`. */
  split: string;
}

const SPLIT_NAME = /^\w+(\.\w+)*$/;

export function shardPath(split: string, index: number, count: number): string {
  return `data/${split}-${String(index).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.parquet`;
}

export function planShards(params: PlanShardsParams): ShardRange[] {
  const { numRows, numBytes, maxShardSize, split } = params;
  if (!SPLIT_NAME.test(split)) throw new UsageError(`split name "${split}" must match ^\\w+(\\.\\w+)*$ (letters, digits, _ and dots)`);
  if (!(maxShardSize > 0)) throw new UsageError(`release.max_shard_size must be positive, got ${maxShardSize}`);
  // As datasets: never capped by the row count, so a limit below one row's size gives empty shards.
  const count = Math.floor(numBytes / maxShardSize) + 1;
  const div = Math.floor(numRows / count);
  const mod = numRows % count;
  const shards: ShardRange[] = [];
  for (let index = 0; index < count; index++) {
    const start = div * index + Math.min(index, mod);
    const end = start + div + (index < mod ? 1 : 0);
    shards.push({ index, start, end, path: shardPath(split, index, count) });
  }
  return shards;
}
