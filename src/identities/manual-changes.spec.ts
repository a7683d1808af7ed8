import assert from "node:assert/strict";
import { test } from "node:test";
import { manualChanges, type ManualChangesParams } from "./manual-changes.ts";
import type { OverrideDecision } from "./overrides-file.ts";

const sha = (letter: string) => letter.repeat(64);
const decision = (id: string, action: OverrideDecision["action"], images: string[], into?: string): OverrideDecision => ({
  id,
  action,
  images: images.map(sha),
  ...(into && { into: sha(into) }),
  who: "ada",
  when: "2026-01-01",
  ...(action === "exclude" && { why: "blurry" }),
});

/**
 * Previous release: {a, b} = 5, {c, d} = 7, {e, g} = 9, {f} = 11, {h} = 12.
 * This one: merge a + c (-> 5), split e out (-> 13), move b into f's identity (-> 11), exclude d,
 * and the clustering on its own joined h into 9.
 */
const previous = new Map<string, bigint>([["a", 5n], ["b", 5n], ["c", 7n], ["d", 7n], ["e", 9n], ["g", 9n], ["f", 11n], ["h", 12n]]);
const current = new Map<string, bigint>([["a", 5n], ["c", 5n], ["e", 13n], ["g", 9n], ["h", 9n], ["b", 11n], ["f", 11n]]);
const params = (over: Partial<ManualChangesParams> = {}): ManualChangesParams => ({
  decisions: [decision("old", "check", ["g"]), decision("m", "merge", ["a", "c"]), decision("s", "split", ["e"]), decision("mv", "split", ["b"], "f"), decision("x", "exclude", ["d"]), decision("gone", "merge", ["y", "z"])],
  appliedIds: ["old", "m", "s", "mv", "x"],
  previousAppliedIds: ["old"],
  previousIdsOf: (image) => {
    const id = previous.get(image[0]!);
    return id === undefined ? [] : [id];
  },
  currentIdsOf: (image) => {
    const id = current.get(image[0]!);
    return id === undefined ? [] : [id];
  },
  present: (image) => image[0] !== "y" && image[0] !== "z",
  merges: [
    { id: 5n, from: [5n, 7n] },
    { id: 9n, from: [9n, 12n] },
    { id: 11n, from: [5n, 11n] },
  ],
  splits: [
    { id: 5n, into: [5n, 11n] },
    { id: 9n, into: [9n, 13n] },
  ],
  ...over,
});

test("only the decisions new since the previous release are listed, with the ids they touched", () => {
  const result = manualChanges(params());
  assert.deepEqual(result.changes, [
    { decision: "m", action: "merge", images: 2, from: [5n, 7n], into: [5n] },
    { decision: "s", action: "split", images: 1, from: [9n], into: [13n] },
    { decision: "mv", action: "move", images: 1, from: [5n, 11n], into: [11n] },
    { decision: "x", action: "exclude", images: 1, from: [7n], into: [] },
  ]);
});

test("the merges and splits the new decisions explain are manual; the clustering's own are not", () => {
  const result = manualChanges(params());
  assert.deepEqual(result.manualMerges, [true, false, true], "5+7 merged by m, 9+12 by the clustering, 5's b moved into 11");
  assert.deepEqual(result.manualSplits, [true, true], "b moved out of 5, e split out of 9");
});

test("a decision applied before explains nothing now: with every decision old, nothing is manual", () => {
  const result = manualChanges(params({ previousAppliedIds: ["old", "m", "s", "mv", "x"] }));
  assert.deepEqual(result.changes, []);
  assert.deepEqual(result.manualMerges, [false, false, false]);
  assert.deepEqual(result.manualSplits, [false, false]);
});

test("decisions the previous release applied and this one does not are withdrawn; undoing those still in the file explains merges and splits", () => {
  // The previous release applied m (a + c -> 5), s (e out of 9 -> 13) and mv (b into 11); now the
  // file holds m and mv, not applied (say their images came back changed), and s is dropped from it.
  // Undone: {a, c} = 5 split into 5 and 7, b back from 11 into 5, e back into 9 (not told apart: s names no image now).
  const before = new Map<string, bigint>([["a", 5n], ["c", 5n], ["b", 11n], ["f", 11n], ["e", 13n], ["g", 9n]]);
  const now = new Map<string, bigint>([["a", 5n], ["c", 7n], ["b", 5n], ["f", 11n], ["e", 9n], ["g", 9n]]);
  const result = manualChanges(
    params({
      decisions: [decision("m", "merge", ["a", "c"]), decision("mv", "split", ["b"], "f")],
      appliedIds: [],
      previousAppliedIds: ["m", "s", "mv"],
      previousIdsOf: (image) => (before.has(image[0]!) ? [before.get(image[0]!)!] : []),
      currentIdsOf: (image) => (now.has(image[0]!) ? [now.get(image[0]!)!] : []),
      present: () => true,
      merges: [
        { id: 5n, from: [5n, 11n] },
        { id: 9n, from: [9n, 13n] },
      ],
      splits: [
        { id: 5n, into: [5n, 7n] },
        { id: 11n, into: [5n, 11n] },
      ],
    }),
  );
  assert.deepEqual(result.withdrawn, ["m", "s", "mv"]);
  assert.deepEqual(result.changes, []);
  assert.deepEqual(result.undoneMerges, [true, false], "b back into 5 undoes mv; e back into 9: s names no image any more");
  assert.deepEqual(result.undoneSplits, [true, true], "5 split by undoing m; 11's b went back to 5 by undoing mv");
  assert.deepEqual(result.manualMerges, [false, false]);
});
