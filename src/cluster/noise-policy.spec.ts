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

test("rows without an embedding are never noise: no singleton id, never dropped, size 0, not counted", () => {
  // Rows 3 and 6 are the all-zero rows of images without a face (no_face: keep): DBSCAN said -1.
  const without = Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 0, 0]);
  const singleton = applyNoisePolicy({ labels, policy: "singleton", withoutEmbedding: without });
  assert.deepEqual(Array.from(singleton.labels), [3, 0, 1, -1, 0, 2, -1, 2, 2], "only row 0 is noise, numbered 3; no gap");
  assert.deepEqual(Array.from(singleton.clusterSizes), [1, 2, 1, 0, 2, 3, 0, 3, 3]);
  assert.deepEqual([singleton.noiseRows, singleton.withoutEmbeddingRows], [1, 2]);

  const kept = applyNoisePolicy({ labels, policy: "keep", withoutEmbedding: without });
  assert.deepEqual(Array.from(kept.labels), Array.from(labels));
  assert.deepEqual(Array.from(kept.clusterSizes), [1, 2, 1, 0, 2, 3, 0, 3, 3], "noise -1 has size 1, a row without a face 0");

  const dropped = applyNoisePolicy({ labels, policy: "drop", withoutEmbedding: without });
  assert.deepEqual(Array.from(dropped.rows), [1, 2, 3, 4, 5, 6, 7, 8], "the face policy, not the noise policy, decides about rows without a face");
  assert.deepEqual(Array.from(dropped.labels), [0, 1, -1, 0, 2, -1, 2, 2]);
  assert.equal(dropped.noiseRows, 1);

  const plain = applyNoisePolicy({ labels, policy: "keep" });
  assert.deepEqual([plain.noiseRows, plain.withoutEmbeddingRows], [3, 0]);
  assert.throws(() => applyNoisePolicy({ labels, policy: "keep", withoutEmbedding: Uint8Array.from([0, 1, 0, 0, 0, 0, 0, 0, 0]) }), /row 1 has no embedding but DBSCAN put it in cluster 0/);
  assert.throws(() => applyNoisePolicy({ labels, policy: "keep", withoutEmbedding: new Uint8Array(3) }), UsageError);
});
