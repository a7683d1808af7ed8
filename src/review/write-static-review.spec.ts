/**
 * The static copy's folder rule: new, empty or its own (marker) folders only; in its own, only the
 * files it wrote are replaced or removed, and a file of someone else's in its way stops it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReviewData } from "./review-types.ts";
import { STATIC_MARKER, writeStaticReview } from "./write-static-review.ts";

const sha = (i: number) => i.toString(16).padStart(64, "0");

function data(shas: string[], file = "a</script><script>alert(1)</script>.jpg"): ReviewData {
  return {
    format: 1, mode: "static", name: "t", eps: 0.35, minSamples: 2, noise: "singleton", reviewer: "r",
    overrides: { file: "t.overrides.yaml", configured: true, configValue: "t.overrides.yaml", sha256: null, decisions: [], problems: [] },
    rows: { file: shas.map(() => file), row: shas.map((_, i) => i), sha: shas, base: shas.map(() => 0) },
    applied: null,
    clusters: { key: [0], kinds: [0], score: [0], weak: [null], weakRow: [-1], near: [null], nearKey: [null], amb: [0], ambKey: [null] },
    largeFrom: 6, nearWithin: 0.45, skipped: { noFace: 0, error: 0, droppedNoise: 0 },
    thumbs: { base: "thumbs/", ext: "webp", size: 128 }, buildId: "x",
  };
}

test("writes into a new folder, rewrites its own, refuses others'", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idclusters-static-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const cache = join(root, "cache");
  await mkdir(cache);
  for (const i of [1, 2, 3]) await writeFile(join(cache, `${sha(i)}.webp`), `thumb ${i}`);
  const thumbnailOf = (s: string) => join(cache, `${s}.webp`);

  const out = join(root, "copy");
  const first = await writeStaticReview({ dir: out, data: data([sha(1), sha(2), sha(4)]), thumbnailOf });
  assert.equal(first.index, join(out, "index.html"));
  assert.deepEqual((await readdir(join(out, "thumbs"))).sort(), [`${sha(1)}.webp`, `${sha(2)}.webp`], "a missing thumbnail is left out");
  const html = await readFile(first.index, "utf8");
  assert.ok(!html.includes("</script><script>alert"), "the data cannot end its script element");
  assert.ok(html.includes('src="review.js"') && html.includes('id="review-data"'));
  const marker = JSON.parse(await readFile(join(out, STATIC_MARKER), "utf8"));
  assert.ok(marker.files.includes("index.html"));

  // Its own folder: rewritten; a thumbnail no longer wanted is removed; a stranger's file stays.
  await writeFile(join(out, "notes.txt"), "mine");
  await writeStaticReview({ dir: out, data: data([sha(1), sha(3)]), thumbnailOf });
  assert.deepEqual((await readdir(join(out, "thumbs"))).sort(), [`${sha(1)}.webp`, `${sha(3)}.webp`]);
  assert.equal(await readFile(join(out, "notes.txt"), "utf8"), "mine");

  // A file of someone else's where it would write: refused, nothing touched.
  await writeFile(join(out, "thumbs", `${sha(2)}.webp`), "someone's");
  await assert.rejects(writeStaticReview({ dir: out, data: data([sha(2)]), thumbnailOf }), /thumbs\/0+2\.webp is in the way and was not written by idclusters review/);
  assert.equal(await readFile(join(out, "thumbs", `${sha(2)}.webp`), "utf8"), "someone's");

  // A non-empty folder without the marker, or with a marker that is not ours: refused.
  const foreign = join(root, "foreign");
  await mkdir(foreign);
  await writeFile(join(foreign, "index.html"), "theirs");
  await assert.rejects(writeStaticReview({ dir: foreign, data: data([sha(1)]), thumbnailOf }), /not empty and was not written by idclusters review/);
  await writeFile(join(foreign, STATIC_MARKER), "not json");
  await assert.rejects(writeStaticReview({ dir: foreign, data: data([sha(1)]), thumbnailOf }), /is not a marker idclusters wrote/);
  assert.equal(await readFile(join(foreign, "index.html"), "utf8"), "theirs");

  // An empty folder is fine; a file is not a folder.
  const empty = join(root, "empty");
  await mkdir(empty);
  await writeStaticReview({ dir: empty, data: data([sha(1)]), thumbnailOf });
  assert.ok(existsSync(join(empty, "index.html")));
  await assert.rejects(writeStaticReview({ dir: join(foreign, "index.html"), data: data([sha(1)]), thumbnailOf }), /not a folder/);
});
