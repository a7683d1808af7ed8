import { test } from "node:test";
import assert from "node:assert/strict";
import { dbscan } from "./dbscan.ts";

/** Unit rows at the given angles (radians) in the plane. */
const atAngles = (angles: number[]) => Float64Array.from(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));

test("near-threshold pairs that join two components are reported with the decision taken", async () => {
  const at = (s: number) => Math.acos(s);
  // rows 0-1: similarity 0.65 + 5e-7 (joined); rows 2-3: 0.65 - 5e-7 (apart); far apart from each other
  const angles = [0, at(0.65 + 5e-7), 3, 3 + at(0.65 - 5e-7)];
  const result = await dbscan({ embeddings: { data: atAngles(angles), rows: 4, dims: 2 }, eps: 0.35, minSamples: 2 });
  assert.deepEqual(Array.from(result.labels), [0, 0, -1, -1]);
  assert.deepEqual(
    result.ambiguousPairs.map((p) => [p.i, p.j, p.neighbor]),
    [
      [0, 1, true],
      [2, 3, false],
    ],
  );
  for (const p of result.ambiguousPairs) assert.ok(Math.abs(p.similarity - 0.65) < 1e-6);
});

test("a near-threshold pair inside a component held together by clear edges is not reported", async () => {
  // 0-1 and 1-2 are clear edges (similarity ~0.9); 0-2 sits on the threshold
  const half = Math.acos(0.65) / 2;
  const result = await dbscan({ embeddings: { data: atAngles([0, half, 2 * half + 1e-9]), rows: 3, dims: 2 }, eps: 0.35, minSamples: 2 });
  assert.deepEqual(Array.from(result.labels), [0, 0, 0]);
  assert.deepEqual(result.ambiguousPairs, []);
});

test("min_samples > 2 gives the same labels from stored pairs and from a second pass", async () => {
  const angles = Array.from({ length: 60 }, (_, i) => (i % 3) * 2 + (i * 0.37) % 0.5);
  const embeddings = { data: atAngles(angles), rows: 60, dims: 2 };
  const stored = await dbscan({ embeddings, eps: 0.01, minSamples: 4 });
  const twoPass = await dbscan({ embeddings, eps: 0.01, minSamples: 4, maxStoredPairs: 5 });
  assert.equal(stored.passes, 1);
  assert.equal(twoPass.passes, 2);
  assert.deepEqual(Array.from(twoPass.labels), Array.from(stored.labels));
  assert.ok(stored.clusters >= 3);
});
