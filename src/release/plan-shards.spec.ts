import { test } from "node:test";
import assert from "node:assert/strict";
import { planShards, shardPath } from "./plan-shards.ts";

test("shard count is int(nbytes / max_shard_size) + 1, as datasets computes it", () => {
  const count = (numBytes: number) => planShards({ numRows: 1000, numBytes, maxShardSize: 500e6, split: "train" }).length;
  assert.equal(count(0), 1);
  assert.equal(count(499_999_999), 1);
  assert.equal(count(500_000_000), 2, "an exact multiple still adds a shard (int() + 1, not ceil)");
  assert.equal(count(1_700_000_000), 4);
});

test("contiguous shards, the first n % k one row longer, named data/{split}-{i:05d}-of-{n:05d}.parquet", () => {
  const shards = planShards({ numRows: 27996, numBytes: 1_700_000_000, maxShardSize: 500e6, split: "train" });
  assert.deepEqual(shards.map((s) => s.end - s.start), [6999, 6999, 6999, 6999]);
  const odd = planShards({ numRows: 10, numBytes: 250, maxShardSize: 100, split: "validation" });
  assert.deepEqual(odd.map((s) => [s.start, s.end]), [[0, 4], [4, 7], [7, 10]]);
  assert.equal(odd[2]!.path, "data/validation-00002-of-00003.parquet");
  assert.equal(shardPath("train", 12, 345), "data/train-00012-of-00345.parquet");
  assert.throws(() => planShards({ numRows: 1, numBytes: 1, maxShardSize: 10, split: "bad split" }), /must match/);
});
