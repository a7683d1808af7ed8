import assert from "node:assert/strict";
import { test } from "node:test";
import { mapStableIds } from "./stable-ids.ts";

const rows = (pairs: [string, number | null][]) => ({
  keys: pairs.map(([k]) => k),
  ids: pairs.map(([, id]) => (id === null ? null : BigInt(id))),
});

test("unchanged identities keep their ids even when the clustering numbers them differently", () => {
  const previous = rows([["a", 0], ["b", 0], ["c", 1], ["d", 2]]);
  // New images e, f: e joins the identity of c; f is a new person. The clustering numbers afresh.
  const current = rows([["e", 0], ["c", 0], ["a", 1], ["b", 1], ["d", 2], ["f", 3]]);
  const result = mapStableIds({ previous, current });
  assert.deepEqual([...result.mapping].sort((x, y) => Number(x[0] - y[0])), [[0n, 1n], [1n, 0n], [2n, 2n], [3n, 3n]]);
  assert.equal(result.kept, 3);
  assert.equal(result.fresh, 1);
  assert.equal(result.retired, 0);
  assert.deepEqual(result.merges, []);
  assert.deepEqual(result.splits, []);
});

test("a merge keeps the id of the larger overlap; a split gives the smaller part a fresh id", () => {
  const previous = rows([["a", 5], ["b", 5], ["c", 7], ["d", 9], ["e", 9], ["f", 9]]);
  const current = rows([["a", 0], ["b", 0], ["c", 0], ["d", 1], ["e", 1], ["f", 2], [ "g", null]]);
  const result = mapStableIds({ previous, current });
  assert.equal(result.mapping.get(0n), 5n); // 2 rows of id 5 beat 1 row of id 7
  assert.equal(result.mapping.get(1n), 9n);
  assert.equal(result.mapping.get(2n), 10n); // fresh: above the previous maximum 9
  assert.deepEqual(result.merges, [{ id: 5n, from: [5n, 7n] }]);
  assert.deepEqual(result.splits, [{ id: 9n, into: [9n, 10n] }]);
  assert.equal(result.retired, 1); // id 7 is gone
});

test("ties go to the smaller previous id, and no previous release means fresh ids from 0", () => {
  const tie = mapStableIds({ previous: rows([["a", 3], ["b", 1]]), current: rows([["a", 0], ["b", 0]]) });
  assert.equal(tie.mapping.get(0n), 1n);
  const first = mapStableIds({ previous: rows([]), current: rows([["a", 4], ["b", 2]]) });
  assert.deepEqual([...first.mapping], [[2n, 0n], [4n, 1n]]);
});
