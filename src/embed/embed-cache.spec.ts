import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setLogSink } from "../common/logger.ts";
import { EmbedCache, embedFingerprint, type EmbedRecord } from "./embed-cache.ts";

const fingerprint = { detectorSha256: "aa", recognizerSha256: "bb", preprocessing: { detector: { inputSize: 320, kind: "yunet" } } };

function record(seed: number): EmbedRecord {
  const embedding = new Float32Array(8).map((_, i) => Math.fround(Math.sin(seed * 7 + i) / 3));
  return { status: "ok", facesFound: 2, score: 0.8123456789, box: [1.5, 2.25, 30.125, 40.0625], landmarks: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10.5]], embedding };
}

test("records round-trip bit for bit and survive reopening", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-cache-"));
  t.after(() => rm(root, { recursive: true }));
  const cache = await EmbedCache.open({ root, fingerprint });
  await cache.putBatch([
    { imageSha256: "img1", record: record(1) },
    { imageSha256: "img2", record: { status: "no_face", facesFound: 0, score: null, box: null, landmarks: null, embedding: null } },
  ]);
  const reopened = await EmbedCache.open({ root, fingerprint });
  assert.equal(reopened.size, 2);
  assert.equal(reopened.batchFiles, 1);
  assert.deepEqual(reopened.get("img1"), record(1));
  assert.equal(reopened.get("img2")?.status, "no_face");
  assert.equal(reopened.get("img3"), undefined);
});

test("the fingerprint ignores key order but not values", () => {
  const reordered = { preprocessing: { detector: { kind: "yunet", inputSize: 320 } }, recognizerSha256: "bb", detectorSha256: "aa" };
  assert.equal(embedFingerprint(reordered), embedFingerprint(fingerprint));
  assert.notEqual(embedFingerprint({ ...fingerprint, recognizerSha256: "bc" }), embedFingerprint(fingerprint));
});

test("damaged batch files and leftovers of a killed writer are ignored", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-cache-"));
  t.after(() => rm(root, { recursive: true }));
  const cache = await EmbedCache.open({ root, fingerprint });
  await cache.putBatch([{ imageSha256: "img1", record: record(1) }]);
  await cache.putBatch([{ imageSha256: "img2", record: record(2) }]);
  const [first] = (await readdir(cache.dir)).filter((n) => n.startsWith("batch-")).sort();
  const content = await readFile(join(cache.dir, first!), "utf8");
  await writeFile(join(cache.dir, first!), content.replace('"ok"', '"OK"'));
  // A temporary file from a dead process (pid 2^22 + 1 is above Linux's pid_max default).
  await writeFile(join(cache.dir, ".tmp-4194305-batch-x.json"), "{");
  const warnings: string[] = [];
  const restore = setLogSink((line) => warnings.push(line));
  const reopened = await EmbedCache.open({ root, fingerprint }).finally(restore);
  assert.equal(reopened.size, 1);
  assert.ok(warnings.some((w) => w.includes("damaged")));
  assert.ok(!(await readdir(cache.dir)).some((n) => n.startsWith(".tmp-4194305")));
});
