import assert from "node:assert/strict";
import { test } from "node:test";
import { compareReleaseLabels } from "./compare-labels.ts";

const rows = (ids: (number | null)[], keys = ids.map((_, i) => `k${i}`)) => ({
  keys,
  fileNames: keys.map((k) => `${k}.png`),
  ids: ids.map((id) => (id === null ? null : BigInt(id))),
});

test("the same partition under other numbers: ARI 1, no differing rows", () => {
  const result = compareReleaseLabels({ ours: rows([0, 0, 1, 2, 2]), theirs: rows([7, 7, 3, 5, 5]) });
  assert.equal(result.ari, 1);
  assert.deepEqual(result.differences, []);
});

test("a row moved to another identity is listed and lowers the ARI", () => {
  const result = compareReleaseLabels({ ours: rows([0, 0, 0, 1, 1, 1]), theirs: rows([4, 4, 9, 9, 9, 9]) });
  assert.ok(result.ari < 1);
  assert.deepEqual(result.differences, [{ row: 2, fileName: "k2.png", ours: "0", theirs: "9", kind: "identity" }]);
});

test("rows that are not the same image are listed as such", () => {
  const result = compareReleaseLabels({ ours: rows([0, 0, 1], ["a", "b", "c"]), theirs: rows([0, 0, 1], ["a", "x", "c"]) });
  assert.deepEqual(result.differences.map((d) => [d.row, d.kind]), [[1, "image"]]);
  assert.equal(result.ari, 1, "the ARI covers the rows that are the same image; verify fails on the listed row");
});
