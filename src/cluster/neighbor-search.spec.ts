import { test } from "node:test";
import assert from "node:assert/strict";
import { mulberry32 } from "../common/seeded-random.ts";
import { UsageError } from "../common/errors.ts";
import { searchNeighbors, SimilarityWorkers } from "./neighbor-search.ts";
import { prepareEmbeddings } from "./prepare-embeddings.ts";

function sample(rows: number, dims: number, float64: boolean): Float32Array | Float64Array {
  const rand = mulberry32(7);
  const data = float64 ? new Float64Array(rows * dims) : new Float32Array(rows * dims);
  for (let k = 0; k < data.length; k++) data[k] = (rand() - 0.5) * (k % 5 === 0 ? 1e3 : 1);
  data.fill(0, 40 * dims, 41 * dims); // a zero row
  return data;
}

async function prepareOnWorkers(data: Float32Array | Float64Array, rows: number, dims: number) {
  const workers = new SimilarityWorkers({ threads: 2, dims, nearestNeighbors: false });
  try {
    return await workers.prepare({ matrix: { data, rows, dims }, eps: 0.35, source: "x.npy" });
  } finally {
    await workers.close();
  }
}

for (const float64 of [false, true]) {
  test(`the workers normalise ${float64 ? "float64" : "float32"} rows exactly as prepareEmbeddings does`, async () => {
    const rows = 301;
    const dims = 7;
    const data = sample(rows, dims, float64);
    const input = data.slice();
    const onThread = prepareEmbeddings({ matrix: { data: input.slice(), rows, dims }, eps: 0.35 });
    const onWorkers = await prepareOnWorkers(data, rows, dims);
    assert.deepEqual(data, input, "the caller's array is left alone without inPlace");
    assert.deepEqual(onWorkers.unit, onThread.unit);
    assert.deepEqual(onWorkers.zeroRow, onThread.zeroRow);
    assert.equal(onWorkers.zeroRow[40], 1);
    assert.equal(onWorkers.maxAbs, onThread.maxAbs);
    assert.equal(onWorkers.threshold, onThread.threshold);
    assert.equal(onWorkers.similarity(3, 200), onThread.similarity(3, 200));
  });
}

test("on the workers, a bad value is reported at the first bad row, whichever worker holds it", async () => {
  const rows = 300;
  const dims = 4;
  const data = sample(rows, dims, false);
  data[250 * dims + 2] = NaN; // second worker's share
  data[290 * dims + 1] = Infinity;
  await assert.rejects(prepareOnWorkers(data.slice(), rows, dims), (e: unknown) => e instanceof UsageError && /x\.npy: row 250, column 2 is NaN/.test(e.message));
  data[10 * dims] = -Infinity; // first worker's share
  await assert.rejects(prepareOnWorkers(data, rows, dims), /row 10, column 0 is -Infinity/);
});

test("onnxruntime's native binding and its public API find the same pairs and nearest neighbours", async () => {
  const rows = 700;
  const dims = 16;
  const rand = mulberry32(11);
  // Pairs of near-copies scattered over the rows, so candidates land in off-diagonal tiles too.
  const data = new Float32Array(rows * dims).map(() => rand() - 0.5);
  for (let r = 0; r < rows; r += 7) {
    const twin = (r * 389) % rows;
    for (let k = 0; k < dims; k++) data[twin * dims + k] = data[r * dims + k]! + (rand() - 0.5) * 0.05;
  }
  const found: { pairs: string[]; nearest?: Float64Array }[] = [];
  for (const ortApi of ["binding", "public"] as const) {
    const workers = new SimilarityWorkers({ threads: 2, dims, nearestNeighbors: true, ortApi });
    const prepared = await workers.prepare({ matrix: { data: data.slice(), rows, dims }, eps: 0.35 });
    const pairs: string[] = [];
    const result = await searchNeighbors({
      prepared,
      minSimilarity: prepared.threshold,
      onPair: (i, j, s) => pairs.push(`${i},${j},${s}`),
      nearestNeighbors: true,
      tileRows: 128,
      workers,
    });
    assert.equal(result.tiles, 21); // 6 row blocks: 6 * 7 / 2
    found.push({ pairs: pairs.sort(), nearest: result.nearest });
  }
  assert.ok(found[0]!.pairs.length >= 100, `${found[0]!.pairs.length} pairs`);
  assert.deepEqual(found[1], found[0]);
});
