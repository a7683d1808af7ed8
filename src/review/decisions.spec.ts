/**
 * The page's decision logic (page/decisions.js, a classic script) against the stage it ports:
 * applyOverrides gives the same labels, exclusions, checked rows and applied ids on random
 * decision sequences (noise rows, duplicates, contradictions and missing images included), and
 * the YAML the static copy's Save downloads reads back with parseOverrides as the same decisions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { webcrypto } from "node:crypto";
import { applyOverrides, parseOverrides, type OverrideDecision } from "../identities/index.ts";
import { mulberry32 } from "../common/seeded-random.ts";

interface PageDecisions {
  applyDecisions(params: { labels: ArrayLike<number>; keys: string[]; noIdentity?: ArrayLike<number>; absent?: Map<string, string>; decisions: OverrideDecision[] }): {
    labels: Int32Array;
    excluded: Uint8Array;
    checkedRows: Uint8Array;
    appliedIds: string[];
    problems: { kind: string; decision: string; image: string; applied: boolean; message: string }[];
  };
  decisionsToYaml(decisions: OverrideDecision[], comments?: string[]): string;
  newDecisionId(now?: Date): string;
}

function loadPageDecisions(): PageDecisions {
  const sandbox: Record<string, unknown> = { crypto: webcrypto };
  runInNewContext(readFileSync(new URL("./page/decisions.js", import.meta.url), "utf8"), sandbox);
  return sandbox.IdReviewDecisions as PageDecisions;
}

const page = loadPageDecisions();
const sha = (i: number) => i.toString(16).padStart(64, "0");

function randomCase(seed: number) {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const n = 6 + Math.floor(random() * 30);
  const clusters = 1 + Math.floor(random() * 6);
  // Some rows are kept noise (-1), some share an image (same SHA-256 on two rows).
  const labels = Array.from({ length: n }, () => (random() < 0.2 ? -1 : Math.floor(random() * clusters)));
  const keys = Array.from({ length: n }, (_, i) => sha(random() < 0.1 && i > 0 ? i - 1 : i));
  // Rows without a face (no_face: keep): label -1, and no identity at all.
  const noIdentity = Uint8Array.from(labels, (label) => (label < 0 && random() < 0.3 ? 1 : 0));
  const images = [...new Set(keys), sha(999)]; // one image not in the build
  const decisions: OverrideDecision[] = [];
  const count = Math.floor(random() * 8);
  for (let d = 0; d < count; d++) {
    const action = pick(["merge", "split", "split", "exclude", "check"] as const);
    const k = action === "merge" ? 2 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3);
    const chosen = [...new Set(Array.from({ length: k }, () => pick(images)))];
    if (action === "merge" && chosen.length < 2) continue;
    const decision: OverrideDecision = { id: `d${d}`, action, images: chosen, who: "t", when: "2026-01-01T00:00:00Z" };
    if (action === "split" && random() < 0.5) decision.into = pick(images);
    if (action === "exclude") decision.why = "because";
    decisions.push(decision);
  }
  return { labels, keys, noIdentity, decisions };
}

test("the page applies decisions exactly as applyOverrides does (600 random cases)", () => {
  for (let seed = 1; seed <= 600; seed++) {
    const { labels, keys, noIdentity, decisions } = randomCase(seed);
    const absent = new Map([[sha(999), "is DBSCAN noise, dropped (noise: drop)"]]);
    const expected = applyOverrides({ labels: BigInt64Array.from(labels, (v) => BigInt(v)), keys, noIdentity, absent, decisions });
    const got = page.applyDecisions({ labels, keys, noIdentity, absent, decisions });
    const what = `seed ${seed}: ${JSON.stringify({ labels, decisions: decisions.map((d) => [d.action, d.images.map((s) => parseInt(s, 16)), d.into && parseInt(d.into, 16)]) })}`;
    assert.deepEqual(Array.from(got.labels), Array.from(expected.labels, Number), what);
    assert.deepEqual(Array.from(got.excluded), Array.from(expected.excluded), what);
    assert.deepEqual(Array.from(got.checkedRows), Array.from(expected.checkedRows), what);
    assert.deepEqual([...got.appliedIds], expected.appliedIds, what);
    // Arrays made in the script's own realm: compared as plain JSON. (The wording of messages is
    // the stage's; the page shows the server's.)
    assert.deepEqual(
      JSON.parse(JSON.stringify(got.problems.map((p) => [p.kind, p.decision, p.image, p.applied]))),
      expected.problems.map((p) => [p.kind, p.decision, p.image, p.applied]),
      what,
    );
  }
});

test("the static copy's YAML reads back as the same decisions, whatever the text in it", () => {
  const decisions: OverrideDecision[] = [
    { id: "20261202T174900Z-3f2a9c01", action: "merge", images: [sha(1), sha(2)], files: ["a: b.jpg", "#x'\"\\.png"], who: "Ada O'Neil", when: "2026-12-02T17:49:00.000Z" },
    { id: "20261202T175000Z-00000000", action: "split", images: [sha(3)], into: sha(4), files: ["ünï\u2028cödé.jpg"], who: "x", when: "2026-12-02T17:50:00.000Z" },
    { id: "d3", action: "exclude", images: [sha(5)], who: "x", when: "2026-12-02T17:51:00.000Z", why: "multi\nline: reason # not a comment" },
    { id: "d4", action: "check", images: [sha(6), sha(7)], who: "- y", when: "2026-12-02T17:52:00.000Z" },
  ];
  const text = page.decisionsToYaml(decisions, ["exported\nfrom a copy"]);
  assert.deepEqual(parseOverrides(text, "export.yaml"), { version: 1, decisions });
  assert.deepEqual(parseOverrides(page.decisionsToYaml([]), "empty.yaml"), { version: 1, decisions: [] });
});

test("decision ids are the time and 8 random hex digits, different each time", () => {
  const now = new Date("2026-12-02T17:49:05.123Z");
  const a = page.newDecisionId(now);
  const b = page.newDecisionId(now);
  assert.match(a, /^20261202T174905Z-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
});
