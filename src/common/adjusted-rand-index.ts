/**
 * Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same rows, as
 * scikit-learn's `adjusted_rand_score` computes it: 1.0 for identical partitions (whatever the
 * label names), about 0 for independent ones. Labels are compared by value only, so noise labels
 * (-1) form one group like any other label; map them to unique ids first if they mean singletons.
 */
export function adjustedRandIndex(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  const n = truth.length;
  if (predicted.length !== n) throw new Error(`adjustedRandIndex: ${n} true labels but ${predicted.length} predicted`);
  const pairs = (k: number) => (k * (k - 1)) / 2;
  const contingency = new Map<string, number>();
  const rows = new Map<number | string, number>();
  const cols = new Map<number | string, number>();
  for (let i = 0; i < n; i++) {
    const a = truth[i]!;
    const b = predicted[i]!;
    const key = `${typeof a}:${a}\u0000${typeof b}:${b}`;
    contingency.set(key, (contingency.get(key) ?? 0) + 1);
    rows.set(a, (rows.get(a) ?? 0) + 1);
    cols.set(b, (cols.get(b) ?? 0) + 1);
  }
  let index = 0;
  for (const count of contingency.values()) index += pairs(count);
  let sumRows = 0;
  for (const count of rows.values()) sumRows += pairs(count);
  let sumCols = 0;
  for (const count of cols.values()) sumCols += pairs(count);
  const total = pairs(n);
  // sklearn's special cases: both partitions trivial (one cluster, or all singletons) agree fully.
  if (total === 0 || (sumRows === sumCols && (sumRows === 0 || sumRows === total))) return 1;
  const expected = (sumRows * sumCols) / total;
  const max = (sumRows + sumCols) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}
