import assert from "node:assert/strict";
import { test } from "node:test";
import type { OverrideDecision } from "../identities/index.ts";
import type { EmbedIndexEntry } from "../release/index.ts";
import { cardReviewOf, reviewLabels, reviewReport } from "./overrides-step.ts";

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
 * Source rows a..f. b has no face (`no_face: keep`: zero embedding row 1), d could not be read (no
 * embedding row), e was DBSCAN noise dropped (`noise: drop`: no label row).
 */
const index: EmbedIndexEntry[] = [
  { row: 0, fileName: "a.jpg", imageSha256: sha("a"), status: "ok", reason: null, embeddingRow: 0 },
  { row: 1, fileName: "b.jpg", imageSha256: sha("b"), status: "no_face", reason: "no face", embeddingRow: 1 },
  { row: 2, fileName: "c.jpg", imageSha256: sha("c"), status: "ok", reason: null, embeddingRow: 2 },
  { row: 3, fileName: "d.jpg", imageSha256: sha("d"), status: "error", reason: "truncated", embeddingRow: null },
  { row: 4, fileName: "e.jpg", imageSha256: sha("e"), status: "ok", reason: null, embeddingRow: 3 },
  { row: 5, fileName: "f.jpg", imageSha256: sha("f"), status: "ok", reason: null, embeddingRow: 4 },
];
// Label rows: embeddings rows 0, 1, 2, 4 (row 3, image e, dropped as noise).
const labels = BigInt64Array.from([0n, 1n, 0n, 2n]);
const labelRows = BigInt64Array.from([0n, 1n, 2n, 4n]);

test("label rows are keyed by their image through the embed index (noise dropped: through label-rows.npy)", () => {
  const { result, embeddingRows, entries } = reviewLabels({ labels, labelRows, index, decisions: [decision("mv", "split", ["f"], "a"), decision("x", "exclude", ["c"])] });
  assert.deepEqual(embeddingRows, [0, 1, 2, 4]);
  assert.deepEqual(entries.map((e) => e?.fileName), ["a.jpg", "b.jpg", "c.jpg", "f.jpg"]);
  assert.deepEqual([...result.labels], [0n, 1n, 0n, 0n]);
  assert.deepEqual([...result.excluded], [0, 0, 1, 0]);
  assert.deepEqual(result.problems, []);
});

test("an image without a row says why: dropped noise, unreadable; one without a face can only be excluded", () => {
  const { result } = reviewLabels({
    labels,
    labelRows,
    index,
    decisions: [decision("m", "merge", ["a", "e"]), decision("s", "split", ["d"]), decision("k", "check", ["b"]), decision("x", "exclude", ["b"])],
  });
  assert.deepEqual(
    result.problems.map((p) => [p.decision, p.kind, p.fileName]),
    [
      ["m", "missing", "e.jpg"],
      ["s", "missing", "d.jpg"],
      ["k", "missing", "b.jpg"],
    ],
  );
  assert.match(result.problems[0]!.message, /image e\.jpg \(eeeeeeeeeeee\) was left out of this build as DBSCAN noise \(clustering\.noise: drop\)$/);
  assert.match(result.problems[1]!.message, /could not be read or decoded \(truncated\)/);
  assert.match(result.problems[2]!.message, /has no detected face/);
  assert.deepEqual(result.appliedIds, ["x"]);
  assert.equal(result.excluded[1], 1);
});

test("the report counts a split with into as a move; the card's part counts decisions with problems, not images", () => {
  const decisions = [decision("mv", "split", ["f"], "a"), decision("s", "split", ["a"]), decision("gone", "exclude", ["y", "z"]), decision("k", "check", ["c"])];
  const { result } = reviewLabels({ labels, labelRows, index, decisions });
  const report = reviewReport("/here/review.yaml", sha("0"), decisions, result);
  assert.deepEqual(report.applied, { merge: 0, split: 1, move: 1, exclude: 0, check: 1 });
  assert.equal(report.problems.length, 2);
  const card = cardReviewOf(report);
  assert.equal(card.problems, 1);
  assert.deepEqual(Object.keys(card).sort(), ["applied", "appliedIds", "checkedIdentities", "decisions", "excludedImages", "problems", "sha256"]);
});

test("noise: drop with no_face: keep: an image without a face whose zero row was dropped as noise can still be excluded", () => {
  // g has no face (zero embeddings row 5, DBSCAN noise, dropped: no label row); h has none and no row (no_face: drop).
  const withNoFace: EmbedIndexEntry[] = [
    ...index,
    { row: 6, fileName: "g.jpg", imageSha256: sha("g"), status: "no_face", reason: "no face", embeddingRow: 5 },
    { row: 7, fileName: "h.jpg", imageSha256: sha("h"), status: "no_face", reason: "no face", embeddingRow: null },
  ];
  const decisions = [decision("xg", "exclude", ["g"]), decision("xh", "exclude", ["h"]), decision("mg", "merge", ["g", "a"])];
  const reviewed = reviewLabels({ labels, labelRows, index: withNoFace, decisions });
  assert.deepEqual(reviewed.result.appliedIds, ["xg"]);
  assert.deepEqual(reviewed.excludedEmbeddingRows, [5], "the export leaves g out by its embeddings row");
  assert.equal(reviewed.excludedWithoutFace, 1);
  assert.deepEqual([...reviewed.labels], [0n, 1n, 0n, 2n], "labels-reviewed.npy keeps the label rows only");
  assert.deepEqual(
    reviewed.result.problems.map((p) => [p.decision, p.fileName]),
    [
      ["xh", "h.jpg"],
      ["mg", "g.jpg"],
    ],
  );
  assert.match(reviewed.result.problems[0]!.message, /has no detected face and is not in this build \(faces\.no_face: drop\)$/);
  assert.match(reviewed.result.problems[1]!.message, /^decisions\[2\] \(merge mg, by ada\): image g\.jpg \(g{12}\) has no detected face: it has no identity/);
  const report = reviewReport("/here/review.yaml", sha("0"), decisions, reviewed.result, reviewed.excludedWithoutFace);
  assert.equal(report.excludedImages, 1);
  assert.equal(cardReviewOf(report).excludedWithoutFace, 1, "the card's DBSCAN counts need it");
});
