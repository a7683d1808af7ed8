import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOverrides, type ApplyOverridesParams } from "./apply-overrides.ts";
import type { OverrideDecision } from "./overrides-file.ts";

/** A fake SHA-256 per letter: "a" -> "aaaa...". */
const sha = (letter: string) => letter.repeat(64);
const when = "2026-01-01T00:00:00.000Z";
const decision = (id: string, action: OverrideDecision["action"], images: string[], extra: Partial<OverrideDecision> = {}): OverrideDecision => ({
  id,
  action,
  images: images.map(sha),
  who: "ada",
  when,
  ...(action === "exclude" && { why: "not a face" }),
  ...extra,
});

/** Rows a..h: identities 0 = {a, b}, 1 = {c, d}, 2 = {e}, noise -1 = {f, g}, 3 = {h}. */
function params(decisions: OverrideDecision[], more: Partial<ApplyOverridesParams> = {}): ApplyOverridesParams {
  const letters = ["a", "b", "c", "d", "e", "f", "g", "h"];
  return {
    labels: BigInt64Array.from([0n, 0n, 1n, 1n, 2n, -1n, -1n, 3n]),
    keys: letters.map(sha),
    fileNames: letters.map((l) => `${l}.jpg`),
    decisions,
    ...more,
  };
}

/** The partition as sorted groups of row letters, noise rows as "-x". */
function groups(labels: BigInt64Array, excluded?: Uint8Array): string[] {
  const letters = "abcdefghij";
  const byLabel = new Map<bigint, string>();
  const out: string[] = [];
  labels.forEach((label, i) => {
    if (excluded?.[i]) return;
    if (label < 0n) out.push(`-${letters[i]}`);
    else byLabel.set(label, (byLabel.get(label) ?? "") + letters[i]);
  });
  return [...out, ...byLabel.values()].sort();
}

test("no decisions: the labels come back unchanged, nothing excluded, nothing checked", () => {
  const result = applyOverrides(params([]));
  assert.deepEqual([...result.labels], [0n, 0n, 1n, 1n, 2n, -1n, -1n, 3n]);
  assert.equal(result.excludedRows, 0);
  assert.equal(result.checkedIdentities, 0);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.appliedIds, []);
});

test("merge: one image per identity joins the whole identities, under the smaller label", () => {
  const result = applyOverrides(params([decision("m1", "merge", ["b", "d"])]));
  assert.deepEqual(groups(result.labels), ["-f", "-g", "abcd", "e", "h"]);
  assert.equal(result.labels[2], 0n);
  assert.deepEqual(result.applied, { merge: 1, split: 0, exclude: 0, check: 0 });
  assert.deepEqual(result.appliedIds, ["m1"]);
});

test("merge of images already together holds (counted); merge of noise rows makes them one identity above DBSCAN's labels", () => {
  const together = applyOverrides(params([decision("m", "merge", ["a", "b"])]));
  assert.deepEqual(groups(together.labels), ["-f", "-g", "ab", "cd", "e", "h"]);
  assert.equal(together.applied.merge, 1);
  const noise = applyOverrides(params([decision("m", "merge", ["f", "g"])]));
  assert.deepEqual(groups(noise.labels), ["ab", "cd", "e", "fg", "h"]);
  assert.ok(noise.labels[5]! > 3n && noise.labels[5] === noise.labels[6], "a new label above DBSCAN's maximum");
  // A noise row merged into an identity takes the identity's label.
  const intoIdentity = applyOverrides(params([decision("m", "merge", ["f", "e"])]));
  assert.equal(intoIdentity.labels[5], 2n);
  assert.deepEqual(groups(intoIdentity.labels), ["-g", "ab", "cd", "ef", "h"]);
});

test("split without into: the images leave together for one new identity; with into: they join the identity of that image", () => {
  const split = applyOverrides(params([decision("s", "split", ["a"])]));
  assert.deepEqual(groups(split.labels), ["-f", "-g", "a", "b", "cd", "e", "h"]);
  assert.equal(split.labels[0], 4n, "the first new label is DBSCAN's maximum + 1");
  const two = applyOverrides(params([decision("s", "split", ["b", "c"])]));
  assert.deepEqual(groups(two.labels), ["-f", "-g", "a", "bc", "d", "e", "h"]);
  const move = applyOverrides(params([decision("mv", "split", ["a"], { into: sha("e") })]));
  assert.deepEqual(groups(move.labels), ["-f", "-g", "ae", "b", "cd", "h"]);
  assert.equal(move.labels[0], 2n);
  assert.deepEqual(move.applied, { merge: 0, split: 1, exclude: 0, check: 0 });
  // Moving into a noise row makes it an identity holding both.
  const intoNoise = applyOverrides(params([decision("mv", "split", ["a"], { into: sha("f") })]));
  assert.deepEqual(groups(intoNoise.labels), ["-g", "af", "b", "cd", "e", "h"]);
});

test("exclude: the rows leave the release (their label kept), counted once, and an exclusion may be repeated", () => {
  const result = applyOverrides(params([decision("x1", "exclude", ["c", "f"]), decision("x2", "exclude", ["c"])]));
  assert.deepEqual([...result.excluded], [0, 0, 1, 0, 0, 1, 0, 0]);
  assert.equal(result.excludedRows, 2);
  assert.equal(result.labels[2], 1n);
  assert.deepEqual(groups(result.labels, result.excluded), ["-g", "ab", "d", "e", "h"]);
  assert.deepEqual(result.applied.exclude, 2);
  assert.deepEqual(result.problems, []);
});

test("decisions apply in file order: merge then move out differs from move out then merge", () => {
  const mergeThenMove = applyOverrides(params([decision("m", "merge", ["a", "c"]), decision("s", "split", ["c"])]));
  assert.deepEqual(groups(mergeThenMove.labels), ["-f", "-g", "abd", "c", "e", "h"]);
  const moveThenMerge = applyOverrides(params([decision("s", "split", ["c"]), decision("m", "merge", ["a", "c"])]));
  assert.deepEqual(groups(moveThenMerge.labels), ["-f", "-g", "abc", "d", "e", "h"]);
});

test("a missing image is reported by name and the decision applies to the images found", () => {
  const result = applyOverrides(
    params([decision("m7", "merge", ["a", "c", "z"], { files: ["a.jpg", "c.jpg", "gone.jpg"] })]),
  );
  assert.deepEqual(groups(result.labels), ["-f", "-g", "abcd", "e", "h"]);
  assert.equal(result.problems.length, 1);
  const [problem] = result.problems;
  assert.equal(problem!.kind, "missing");
  assert.equal(problem!.decision, "m7");
  assert.equal(problem!.index, 0);
  assert.equal(problem!.image, sha("z"));
  assert.equal(problem!.fileName, "gone.jpg");
  assert.equal(problem!.applied, true);
  assert.match(problem!.message, /^decisions\[0\] \(merge m7, by ada\): image gone\.jpg \(zzzzzzzzzzzz\) is not in this build/);
  // Told why when the caller knows it.
  const absent = applyOverrides(params([decision("s", "split", ["z"])], { absent: new Map([[sha("z"), "was left out as DBSCAN noise"]]) }));
  assert.match(absent.problems[0]!.message, /image zzzzzzzzzzzz was left out as DBSCAN noise$/);
  assert.equal(absent.problems[0]!.applied, false);
  assert.deepEqual(absent.appliedIds, []);
});

test("a merge left with one image is not applied; an image excluded earlier is a contradiction, named with the excluding decision", () => {
  const one = applyOverrides(params([decision("m", "merge", ["a", "z"])]));
  assert.deepEqual(one.appliedIds, []);
  assert.equal(one.problems[0]!.kind, "missing");
  assert.equal(one.problems[0]!.applied, false);

  const contradiction = applyOverrides(params([decision("x", "exclude", ["c"]), decision("s", "split", ["c", "d"]), decision("k", "check", ["c"])]));
  assert.deepEqual(
    contradiction.problems.map((p) => [p.kind, p.decision, p.index, p.fileName, p.applied]),
    [
      ["contradiction", "s", 1, "c.jpg", true],
      ["contradiction", "k", 2, "c.jpg", false],
    ],
  );
  assert.match(contradiction.problems[0]!.message, /^decisions\[1\] \(split s, by ada\): image c\.jpg \(cccccccccccc\) was excluded by decisions\[0\] \(x\)$/);
  assert.deepEqual(contradiction.appliedIds, ["x", "s"]);
  // Moving an image into its own group is a contradiction too.
  const self = applyOverrides(params([decision("s", "split", ["a", "b"], { into: sha("b") })]));
  assert.equal(self.problems[0]!.kind, "contradiction");
  assert.match(self.problems[0]!.message, /is both moved and the destination/);
  assert.deepEqual(groups(self.labels), groups(applyOverrides(params([])).labels));
});

test("check: an identity counts as checked while its members are among one check's images; a new member needs a new look", () => {
  const checked = applyOverrides(params([decision("k", "check", ["a", "b", "e"])]));
  assert.equal(checked.checkedIdentities, 2, "{a, b} and {e}");
  assert.deepEqual([...checked.checkedRows], [1, 1, 0, 0, 1, 0, 0, 0]);
  assert.equal(checked.applied.check, 1);
  const grown = applyOverrides(params([decision("k", "check", ["a", "b"]), decision("mv", "split", ["c"], { into: sha("a") })]));
  assert.equal(grown.checkedIdentities, 0);
  const shrunk = applyOverrides(params([decision("k", "check", ["a", "b"]), decision("x", "exclude", ["b"])]));
  assert.equal(shrunk.checkedIdentities, 1, "an excluded image leaves the identity checked");
  // Noise rows are no identity of the release: a check naming one counts no identity.
  const noise = applyOverrides(params([decision("k", "check", ["f"])]));
  assert.equal(noise.checkedIdentities, 0);
});

test("an image present twice (duplicate rows) is moved, merged and excluded as a whole", () => {
  const labels = BigInt64Array.from([0n, 0n, 1n, 1n]);
  const keys = [sha("a"), sha("b"), sha("a"), sha("c")];
  const moved = applyOverrides({ labels, keys, decisions: [decision("s", "split", ["a"])] });
  assert.deepEqual([...moved.labels], [2n, 0n, 2n, 1n]);
  const excluded = applyOverrides({ labels, keys, decisions: [decision("x", "exclude", ["a"])] });
  assert.deepEqual([...excluded.excluded], [1, 0, 1, 0]);
  assert.equal(excluded.excludedRows, 2);
  const checked = applyOverrides({ labels, keys, decisions: [decision("k", "check", ["a", "b"])] });
  assert.equal(checked.checkedIdentities, 1);
});

test("rows without an identity (no face, kept) can only be excluded; other decisions naming them are reported", () => {
  const noIdentity = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]);
  const merge = applyOverrides(params([decision("m", "merge", ["a", "h"])], { noIdentity }));
  assert.equal(merge.problems[0]!.kind, "missing");
  assert.match(merge.problems[0]!.message, /image h\.jpg \(hhhhhhhhhhhh\) has no detected face/);
  assert.deepEqual(merge.appliedIds, []);
  const exclude = applyOverrides(params([decision("x", "exclude", ["h"])], { noIdentity }));
  assert.deepEqual(exclude.problems, []);
  assert.equal(exclude.excluded[7], 1);
  const check = applyOverrides(params([decision("k", "check", ["e", "h"])], { noIdentity }));
  assert.equal(check.checkedIdentities, 1, "{e} only: h has no identity");
});

test("deterministic: the same inputs give the same result, and the inputs are left as they were", () => {
  const decisions = [
    decision("m", "merge", ["a", "c", "f"]),
    decision("s", "split", ["b"]),
    decision("mv", "split", ["d"], { into: sha("h") }),
    decision("x", "exclude", ["e"]),
    decision("k", "check", ["d", "h"]),
    decision("gone", "merge", ["z", "y"]),
  ];
  const input = params(decisions);
  const before = [...(input.labels as BigInt64Array)];
  const first = applyOverrides(input);
  const second = applyOverrides(params(decisions));
  assert.deepEqual(first, second);
  assert.deepEqual([...(input.labels as BigInt64Array)], before);
  assert.deepEqual(groups(first.labels, first.excluded), ["-g", "acf", "b", "dh"]);
  assert.equal(first.checkedIdentities, 1);
  assert.deepEqual(first.appliedIds, ["m", "s", "mv", "x", "k"]);
  assert.equal(first.problems.length, 2);
});

test("keys and labels of different lengths are a programming error", () => {
  assert.throws(() => applyOverrides({ labels: BigInt64Array.from([0n]), keys: [], decisions: [] }), /1 labels/);
});
