import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import type { ImageSource, SourceImage } from "../source/index.ts";
import { parseShardSpec, shardRange, sliceSource } from "./embed-shard.ts";

test("parseShardSpec accepts i/n with 0 <= i < n and names the flag otherwise", () => {
  assert.deepEqual(parseShardSpec("0/1"), { index: 0, count: 1 });
  assert.deepEqual(parseShardSpec(" 3/4 "), { index: 3, count: 4 });
  for (const bad of ["4/4", "1/0", "-1/3", "1", "a/b", "1/2/3", "1.5/3", ""]) {
    assert.throws(() => parseShardSpec(bad), (e: unknown) => e instanceof UsageError && /--shard must be i\/n/.test(e.message), bad);
  }
});

test("shard ranges are contiguous, in order, cover every row once and differ in size by at most 1", () => {
  for (const total of [0, 1, 2, 7, 40, 27_996, 28_000]) {
    for (const count of [1, 2, 3, 4, 7, 16, 50]) {
      let next = 0;
      const sizes: number[] = [];
      for (let index = 0; index < count; index++) {
        const { start, end } = shardRange({ index, count }, total);
        assert.equal(start, next, `N=${total} n=${count} i=${index}`);
        assert.ok(end >= start);
        sizes.push(end - start);
        next = end;
      }
      assert.equal(next, total);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
  }
  assert.deepEqual(shardRange({ index: 1, count: 3 }, 40), { start: 13, end: 26 });
});

function countingSource(total: number): { source: ImageSource; pulled: () => number } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    source: {
      total,
      description: `${total} fake rows`,
      async *images(): AsyncIterable<SourceImage> {
        for (let row = 0; row < total; row++) {
          pulled++;
          yield { row, fileName: `f${row}.png`, extra: {} };
        }
      },
    },
  };
}

test("sliceSource yields its rows with their global numbers and stops reading at the slice's end", async () => {
  const { source, pulled } = countingSource(10);
  const slice = sliceSource(source, 3, 6);
  assert.equal(slice.total, 3);
  const rows: number[] = [];
  for await (const image of slice.images()) rows.push(image.row);
  assert.deepEqual(rows, [3, 4, 5]);
  assert.equal(pulled(), 7, "the row after the slice ends the iteration; rows 7.. are never read");
  const empty: number[] = [];
  for await (const image of sliceSource(countingSource(5).source, 5, 5).images()) empty.push(image.row);
  assert.deepEqual(empty, []);
});
