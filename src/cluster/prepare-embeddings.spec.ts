import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { prepareEmbeddings, sklearnChunkRows } from "./prepare-embeddings.ts";

const pair = (data: Float32Array | Float64Array, eps = 0.35) => prepareEmbeddings({ matrix: { data, rows: 2, dims: 2 }, eps });

test("thresholds are the ones reference-pipeline.md states for eps = 0.35", () => {
  assert.equal(pair(new Float32Array([1, 0, 0, 1])).threshold, 0.650000035762786865234375);
  assert.equal(pair(new Float64Array([1, 0, 0, 1])).threshold, 0.65000000000000002220);
  const f32 = pair(new Float32Array([1, 0, 0, 1]));
  assert.equal(f32.isNeighbor(0.650000035762786865234375), true);
  assert.equal(f32.isNeighbor(0.64999997615814208984375), false);
});

test("zero rows stay zero; a zero row counts itself only in sklearn's one-chunk case or when eps >= 1", () => {
  const p = pair(new Float64Array([0, 0, 3, 4]));
  assert.deepEqual(Array.from(p.unit), [0, 0, 0.6, 0.8]);
  assert.deepEqual(Array.from(p.zeroRow), [1, 0]);
  assert.equal(p.similarity(0, 1), 0);
  assert.equal(p.selfNeighbor(0), true); // 2 rows: one chunk, sklearn zeroes the diagonal
  assert.equal(sklearnChunkRows(11585) >= 11585, true);
  assert.equal(sklearnChunkRows(11586) >= 11586, false);
});

test("bad values and bad eps are usage errors naming the place", () => {
  assert.throws(() => pair(new Float32Array([1, NaN, 0, 1])), (e: unknown) => e instanceof UsageError && /row 0, column 1 is NaN/.test(e.message));
  assert.throws(() => pair(new Float64Array([1, 0, Infinity, 1])), /row 1, column 0 is Infinity/);
  assert.throws(() => pair(new Float64Array([1, 0, 0, 1]), 2), /eps must be in \(0, 2\)/);
  assert.throws(() => pair(new Float64Array([1, 0, 0, 1]), 0), UsageError);
});
