import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { applyNoisePolicy } from "./noise-policy.ts";
import type { NoisePolicy } from "./noise-policy.ts";

const labels = Int32Array.from([-1, 0, 1, -1, 0, 2, -1, 2, 2]);

test("singleton: each noise row gets its own id from max + 1 upward in row order", () => {
  const out = applyNoisePolicy({ labels, policy: "singleton" });
  assert.deepEqual(Array.from(out.labels), [3, 0, 1, 4, 0, 2, 5, 2, 2]);
  assert.deepEqual(Array.from(out.clusterSizes), [1, 2, 1, 1, 2, 3, 1, 3, 3]);
  assert.deepEqual(Array.from(out.rows), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test("singleton with no clusters numbers noise from 0", () => {
  const out = applyNoisePolicy({ labels: Int32Array.from([-1, -1, -1]), policy: "singleton" });
  assert.deepEqual(Array.from(out.labels), [0, 1, 2]);
});

test("keep leaves -1 (size 1); drop removes noise rows and says which rows remain", () => {
  const kept = applyNoisePolicy({ labels, policy: "keep" });
  assert.deepEqual(Array.from(kept.labels), Array.from(labels));
  assert.deepEqual(Array.from(kept.clusterSizes), [1, 2, 1, 1, 2, 3, 1, 3, 3]);
  const dropped = applyNoisePolicy({ labels, policy: "drop" });
  assert.deepEqual(Array.from(dropped.labels), [0, 1, 0, 2, 2, 2]);
  assert.deepEqual(Array.from(dropped.rows), [1, 2, 4, 5, 7, 8]);
  assert.deepEqual(Array.from(dropped.clusterSizes), [2, 1, 2, 3, 3, 3]);
});

test("an unknown policy is a usage error", () => {
  assert.throws(() => applyNoisePolicy({ labels, policy: "merge" as NoisePolicy }), UsageError);
});
