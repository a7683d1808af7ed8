import { test } from "node:test";
import assert from "node:assert/strict";
import { adjustedRandIndex } from "./adjusted-rand-index.ts";

test("identical partitions score 1 whatever the label names", () => {
  assert.equal(adjustedRandIndex([0, 0, 1, 1, 2], ["b", "b", "a", "a", "c"]), 1);
});

test("matches scikit-learn's adjusted_rand_score on known cases", () => {
  // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) == 0.5714285714285714
  assert.ok(Math.abs(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]) - 0.5714285714285715) < 1e-12);
  // adjusted_rand_score([0,0,1,2],[0,0,1,1]) == 0.5714285714285714 (symmetric)
  assert.ok(Math.abs(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]) - 0.5714285714285715) < 1e-12);
  // adjusted_rand_score([0,0,1,1],[0,1,0,1]) == -0.5
  assert.ok(Math.abs(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]) + 0.5) < 1e-12);
  // adjusted_rand_score([0,0,0,0],[0,1,2,3]) == 0.0
  assert.equal(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 0);
});

test("trivial partitions and length mismatch", () => {
  assert.equal(adjustedRandIndex([1, 2, 3], [4, 5, 6]), 1);
  assert.equal(adjustedRandIndex([], []), 1);
  assert.throws(() => adjustedRandIndex([1], [1, 2]), /1 true labels but 2 predicted/);
});
