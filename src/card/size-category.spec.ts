import assert from "node:assert/strict";
import { test } from "node:test";
import { SIZE_CATEGORIES, sizeCategory } from "./size-category.ts";

test("size_categories at every bucket edge: a power of ten opens the next bucket", () => {
  const cases: [number, string][] = [
    [0, "n<1K"],
    [1, "n<1K"],
    [999, "n<1K"],
    [1000, "1K<n<10K"],
    [9999, "1K<n<10K"],
    [10_000, "10K<n<100K"],
    [27_996, "10K<n<100K"], // the first release, as the doc says
    [99_999, "10K<n<100K"],
    [100_000, "100K<n<1M"],
    [999_999, "100K<n<1M"],
    [1_000_000, "1M<n<10M"],
    [9_999_999, "1M<n<10M"],
    [10_000_000, "10M<n<100M"],
    [99_999_999, "10M<n<100M"],
    [100_000_000, "100M<n<1B"],
    [999_999_999, "100M<n<1B"],
    [1_000_000_000, "1B<n<10B"],
    [9_999_999_999, "1B<n<10B"],
    [10_000_000_000, "10B<n<100B"],
    [99_999_999_999, "10B<n<100B"],
    [100_000_000_000, "100B<n<1T"],
    [999_999_999_999, "100B<n<1T"],
    [1_000_000_000_000, "n>1T"],
    [5_000_000_000_000, "n>1T"],
  ];
  for (const [rows, label] of cases) assert.equal(sizeCategory(rows), label, `${rows} rows`);
});

test("every count falls in exactly one of the Hub's eleven labels, in order", () => {
  assert.equal(SIZE_CATEGORIES.length, 11);
  const seen = [0, 5e3, 5e4, 5e5, 5e6, 5e7, 5e8, 5e9, 5e10, 5e11, 5e12].map(sizeCategory);
  assert.deepEqual(seen, SIZE_CATEGORIES);
});

test("a count that is not a non-negative integer is refused", () => {
  assert.throws(() => sizeCategory(-1), RangeError);
  assert.throws(() => sizeCategory(1.5), RangeError);
  assert.throws(() => sizeCategory(Number.NaN), RangeError);
});
