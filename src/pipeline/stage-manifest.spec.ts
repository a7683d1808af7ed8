import assert from "node:assert/strict";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { canonicalJson, hashInputs, hashOutputs, validManifest, writeManifest } from "./stage-manifest.ts";

test("input hashes ignore key order and see every value, bigints included", () => {
  assert.equal(hashInputs({ a: 1, b: { c: [1, 2], d: 3n } }), hashInputs({ b: { d: 3n, c: [1, 2] }, a: 1 }));
  assert.notEqual(hashInputs({ a: 1, b: { c: [2, 1] } }), hashInputs({ a: 1, b: { c: [1, 2] } }));
  assert.equal(canonicalJson({ z: 1n, a: null }), '{"a":null,"z":"1"}');
});

test("a manifest is valid only for its input hash and its outputs' content", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idc-manifest-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "labels.npy"), "abc");
  await writeManifest(dir, "cluster", { inputHash: "h1", ...(await hashOutputs(dir, ["labels.npy"])) });
  assert.ok(await validManifest({ workDir: dir, stage: "cluster", inputHash: "h1" }));
  assert.equal(await validManifest({ workDir: dir, stage: "cluster", inputHash: "h2" }), undefined);
  assert.equal(await validManifest({ workDir: dir, stage: "export", inputHash: "h1" }), undefined, "no manifest yet");
  // Same size, new content, new mtime: rehashed and refused.
  await writeFile(join(dir, "labels.npy"), "abd");
  await utimes(join(dir, "labels.npy"), new Date(1_000_000), new Date(1_000_000));
  assert.equal(await validManifest({ workDir: dir, stage: "cluster", inputHash: "h1" }), undefined);
  // The original content back under another mtime: the hash still matches.
  await writeFile(join(dir, "labels.npy"), "abc");
  await utimes(join(dir, "labels.npy"), new Date(2_000_000), new Date(2_000_000));
  assert.ok(await validManifest({ workDir: dir, stage: "cluster", inputHash: "h1" }));
  await rm(join(dir, "labels.npy"));
  assert.equal(await validManifest({ workDir: dir, stage: "cluster", inputHash: "h1" }), undefined, "output gone");
});
