/**
 * The Hub's `size_categories` bucket for a row count (../shared/docs/hf-parquet-and-card.md,
 * "README.md (dataset card) YAML header": 27,996 rows -> `10K<n<100K`).
 *
 * Edges: the labels read `1K<n<10K`, but an exact power of ten belongs to the bucket it opens,
 * never to the one it closes: 999 -> `n<1K`, 1000 -> `1K<n<10K`, 9999 -> `1K<n<10K`,
 * 10000 -> `10K<n<100K`. This is the rule Hugging Face's own card tooling applies
 * (argilla's `size_categories_parser`: the first bucket whose upper bound is strictly greater
 * than the count), and it is the only reading that puts every count in exactly one bucket.
 */

const BUCKETS: [upperExclusive: number, label: string][] = [
  [1e3, "n<1K"],
  [1e4, "1K<n<10K"],
  [1e5, "10K<n<100K"],
  [1e6, "100K<n<1M"],
  [1e7, "1M<n<10M"],
  [1e8, "10M<n<100M"],
  [1e9, "100M<n<1B"],
  [1e10, "1B<n<10B"],
  [1e11, "10B<n<100B"],
  [1e12, "100B<n<1T"],
];

/** Every label the Hub knows, smallest first. */
export const SIZE_CATEGORIES: readonly string[] = [...BUCKETS.map(([, label]) => label), "n>1T"];

/** The bucket of `rows` (a non-negative integer). */
export function sizeCategory(rows: number): string {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`row count must be a non-negative integer, got ${rows}`);
  for (const [upper, label] of BUCKETS) if (rows < upper) return label;
  return "n>1T";
}
