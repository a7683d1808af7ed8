// Labels identical to scikit-learn's DBSCAN(metric="cosine") on the committed fixtures, which
// test/cluster/fixtures/generate_fixtures.py wrote with Debian's python3-sklearn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readNpy } from "../../src/common/npy.ts";
import { dbscan } from "../../src/cluster/dbscan.ts";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

interface Expected {
  file: string;
  eps: number;
  min_samples: number;
  dtype: "float32" | "float64";
  shape: [number, number];
  contested_border_rows: number;
  labels: number[];
}

const expected = JSON.parse(readFileSync(fixtures + "expected.json", "utf8")) as {
  sklearn: string;
  datasets: Record<string, Expected>;
};

for (const [name, want] of Object.entries(expected.datasets)) {
  test(`${name}: labels equal sklearn ${expected.sklearn} (eps ${want.eps}, min_samples ${want.min_samples})`, async () => {
    const array = readNpy(fixtures + want.file);
    assert.equal(array.dtype, want.dtype);
    assert.deepEqual(array.shape, want.shape);
    const [rows, dims] = want.shape;
    const result = await dbscan({
      embeddings: { data: array.data as Float32Array | Float64Array, rows, dims },
      eps: want.eps,
      minSamples: want.min_samples,
      // small tiles so several tiles, diagonal and off-diagonal, are exercised
      tileRows: 64,
      nearestNeighbors: true,
    });
    assert.deepEqual(Array.from(result.labels), want.labels);
    assert.equal(result.dtype, want.dtype);
    assert.deepEqual(result.ambiguousPairs, []);
  });
}

test("fixtures cover border rows claimed by two clusters, duplicates, zero rows and tiny shapes", () => {
  const sets = Object.values(expected.datasets);
  assert.ok(sets.filter((s) => s.contested_border_rows > 0).map((s) => s.min_samples).includes(5));
  assert.ok(sets.some((s) => s.shape[0] === 1) && sets.some((s) => s.shape[0] === 2) && sets.some((s) => s.shape[1] === 1));
  assert.ok(sets.some((s) => s.dtype === "float32") && sets.some((s) => s.dtype === "float64"));
  assert.deepEqual([...new Set(sets.map((s) => s.min_samples))].sort(), [1, 2, 3, 4, 5]);
});
