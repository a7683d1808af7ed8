/**
 * What the page sends is input: only known actions and this build's images; saved decisions kept
 * as they are, in file order, before new ones; who and the file names are the server's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OverrideDecision } from "../identities/index.ts";
import { checkSubmittedDecisions } from "./check-submitted-decisions.ts";

const sha = (i: number) => i.toString(16).padStart(64, "0");
const images = new Map([1, 2, 3, 4].map((i) => [sha(i), `img${i}.jpg`]));
const now = new Date("2026-12-02T18:00:00.000Z");
const saved: OverrideDecision[] = [
  { id: "a", action: "merge", images: [sha(1), sha(2)], files: ["img1.jpg", "img2.jpg"], who: "ada", when: "2026-12-01T10:00:00.000Z" },
  { id: "b", action: "exclude", images: [sha(3)], who: "bob", when: "2026-12-01T11:00:00.000Z", why: "blur" },
];
const check = (submitted: unknown) => checkSubmittedDecisions({ submitted, current: { version: 1, decisions: saved }, images, reviewer: "rev", now });

test("saved decisions pass unchanged; new ones get the server's who and file names", () => {
  const out = check([saved[0], { id: "n1", action: "split", images: [sha(4)], into: sha(1), files: ["<lie>"], who: "mallory", when: "2026-12-02T17:00:00.000Z" }]);
  assert.deepEqual(out, [saved[0], { id: "n1", action: "split", images: [sha(4)], into: sha(1), files: ["img4.jpg"], who: "rev", when: "2026-12-02T17:00:00.000Z" }]);
  // A clock ahead of the server's is taken as now; no `when` is now.
  assert.equal(check([{ id: "n2", action: "check", images: [sha(1)], when: "2030-01-01T00:00:00Z" }])[0]!.when, now.toISOString());
  assert.equal(check([{ id: "n3", action: "check", images: [sha(1)] }])[0]!.when, now.toISOString());
  assert.deepEqual(check([]), [], "everything undone");
});

test("edited, reordered or interleaved saved decisions are refused", () => {
  assert.throws(() => check([{ ...saved[0], images: [sha(1), sha(3)] }]), /decision a differs from the one in the file/);
  assert.throws(() => check([{ ...saved[1], why: "other" }]), /differs/);
  assert.throws(() => check([saved[1], saved[0]]), /out of the file's order/);
  assert.throws(() => check([{ id: "n", action: "check", images: [sha(1)] }, saved[0]]), /out of the file's order/);
});

test("unknown actions and keys, foreign images, bad ids and missing reasons are refused", () => {
  const cases: [unknown, RegExp][] = [
    [{ id: "x", action: "delete", images: [sha(1)] }, /action: expected one of merge, split, exclude, check/],
    [{ id: "x", action: "check", images: [sha(9)] }, /not an image of this build/],
    [{ id: "x", action: "check", images: ["../../etc/passwd"] }, /is not a SHA-256/],
    [{ id: "x", action: "check", images: [] }, /non-empty list/],
    [{ id: "x", action: "check", images: [sha(1), sha(1)] }, /lists an image twice/],
    [{ id: "x", action: "merge", images: [sha(1)] }, /at least two images/],
    [{ id: "x", action: "check", images: [sha(1)], into: sha(2) }, /only a split has "into"/],
    [{ id: "x", action: "split", images: [sha(1)], into: sha(9) }, /into: not an image of this build/],
    [{ id: "x", action: "split", images: [sha(1)], into: sha(1) }, /destination is one of the images moved/],
    [{ id: "x", action: "exclude", images: [sha(1)] }, /an exclude says why/],
    [{ id: "x", action: "exclude", images: [sha(1)], why: "   " }, /an exclude says why/],
    [{ id: "x", action: "exclude", images: [sha(1)], why: "x".repeat(2001) }, /at most 2000/],
    [{ id: "x", action: "check", images: [sha(1)], when: "yesterday" }, /not an ISO 8601 time/],
    [{ id: "x", action: "check", images: [sha(1)], script: "<b>" }, /unknown key "script"/],
    [{ id: "a b", action: "check", images: [sha(1)] }, /\.id: expected letters/],
    [{ id: "", action: "check", images: [sha(1)] }, /\.id: expected letters/],
    ["merge", /expected an object/],
  ];
  for (const [decision, says] of cases) assert.throws(() => check([decision]), says, JSON.stringify(decision).slice(0, 80));
  assert.throws(() => check({ decisions: [] }), /decisions: expected a list/);
  assert.throws(() => check([{ id: "n", action: "check", images: [sha(1)] }, { id: "n", action: "check", images: [sha(2)] }]), /appears twice/);
});
