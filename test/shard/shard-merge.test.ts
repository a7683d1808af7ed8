/**
 * Scale-out: `embed --shard i/n` on separate work dirs (as on separate machines, no shared cache),
 * then `merge`, gives byte for byte the embeddings.npy and index of one `embed --config` run, on a
 * Parquet snapshot laid out like the Hub's (two files, small row groups, so shard boundaries fall
 * inside row groups and across files) with a faceless and an unreadable row (`no_face: keep`, so
 * zero rows and null embedding_rows must line up too). `merge` refuses incomplete, foreign or
 * tampered partials, and leaves the work dir's embed cache full so a later embed computes nothing.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { parseNpy } from "../../src/common/npy.ts";
import { makeImageParquet } from "../support/make-image-parquet.ts";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const LABELLED = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const missing = !existsSync(join(MODELS, "yunet_n_dynamic.onnx")) || !existsSync(LABELLED);
const PEOPLE = ["amy", "howard", "penny", "raj"];
const SHARDS = 3;

let root = "";
let configFile = "";

const work = (name: string) => join(root, "work", name);

before(async () => {
  if (missing) return;
  root = await mkdtemp(join(tmpdir(), "idc-shard-"));
  const rows: { bytes: Uint8Array | null; path: string | null; label: number }[] = [];
  for (const [label, person] of PEOPLE.entries()) {
    for (let i = 1; i <= 3; i++) {
      rows.push({ bytes: await readFile(join(LABELLED, person, `${person}${i}.png`)), path: `${person}${i}.png`, label });
    }
  }
  // No face (a plain wall) and no image at all, in the middle so they land inside a shard.
  const wall = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 120, g: 130, b: 140 } } }).png().toBuffer();
  rows.splice(5, 0, { bytes: wall, path: "wall.png", label: 0 });
  rows.splice(9, 0, { bytes: null, path: "missing.png", label: 1 });
  const snapshot = join(root, "snapshot");
  await makeImageParquet({ rows: rows.slice(0, 8), rowGroupSize: 3, file: join(snapshot, "data", "train-00000-of-00002.parquet") });
  await makeImageParquet({ rows: rows.slice(8), rowGroupSize: 3, file: join(snapshot, "data", "train-00001-of-00002.parquet") });
  configFile = join(root, "shard.yaml");
  await writeFile(
    configFile,
    [
      "name: shard_test",
      "source:",
      `  path: ${join(root, "snapshot")}`,
      "  format: parquet",
      "  pass_through: [label]",
      "models:",
      "  detector:",
      "    kind: yunet",
      `    path: ${join(MODELS, "yunet_n_dynamic.onnx")}`,
      "    input_size: 320",
      "    score_threshold: 0.5",
      "  recognizer:",
      `    path: ${join(MODELS, "mobilefacenet_arcface_512.onnx")}`,
      "faces:",
      "  device: cpu",
      "  batch_size: 4",
      "  no_face: keep",
      "images:",
      "  transform: keep",
      "clustering:",
      "  eps: 0.5",
      "release:",
      "  target: local/shard-test",
      "",
    ].join("\n"),
  );
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function embed(workDir: string, ...extra: string[]) {
  const result = await runCli(["embed", "--config", configFile, "--work-dir", workDir, "--decode-workers", "0", "--json", ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function readIndex(path: string) {
  return tableFromIPC(readParquet(await readFile(path)).intoIPCStream());
}

test("3 shards on separate machines + merge = one run, byte for byte; the merged work dir's cache is full", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  // Shards run two at a time (2 cores), each with its own work dir and therefore its own cache.
  const shardRuns = [...Array(SHARDS).keys()].map((i) => () => embed(work(`shard${i}`), "--shard", `${i}/${SHARDS}`));
  const [single, ...shards] = await Promise.all([embed(work("single")), ...shardRuns.slice(0, 1).map((run) => run())]);
  for (const run of shardRuns.slice(1)) shards.push(await run());
  assert.deepEqual([single!.rows, single!.ok, single!.noFace, single!.errors], [14, 12, 1, 1]);
  // rows [floor(i*14/3), floor((i+1)*14/3)): 0..3, 4..8, 9..13
  assert.deepEqual(shards.map((s) => s.shardRows), [{ start: 0, end: 4 }, { start: 4, end: 9 }, { start: 9, end: 14 }]);
  assert.deepEqual(shards.map((s) => s.computed), [4, 5, 4], "each shard embedded its own rows, the wall too (no shared cache); the missing image is never computed");

  // Partials collected into one folder, as the workflow's artifact download does.
  const collected = join(root, "collected");
  for (let i = 0; i < SHARDS; i++) await cp(join(work(`shard${i}`), "partials", `embed-${i}-of-${SHARDS}`), join(collected, `embed-${i}-of-${SHARDS}`), { recursive: true });
  const merged = work("merged");
  const result = await runCli(["merge", "--config", configFile, "--work-dir", merged, "--partials", collected, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).rows, 14);

  for (const file of ["embeddings.npy", "embeddings-index.parquet"]) {
    const a = await readFile(join(work("single"), file));
    const b = await readFile(join(merged, file));
    assert.ok(a.equals(b), `${file} differs from the single run's`);
  }
  const index = await readIndex(join(merged, "embeddings-index.parquet"));
  assert.deepEqual(Array.from({ length: index.numRows }, (_, i) => Number(index.getChild("row")!.get(i))), [...Array(14).keys()]);
  // keep: every row has its .npy row, zero for the faceless and the missing image
  assert.deepEqual(Array.from({ length: index.numRows }, (_, i) => Number(index.getChild("embedding_row")!.get(i))), [...Array(14).keys()]);
  assert.deepEqual([index.getChild("status")!.get(5), index.getChild("status")!.get(9)], ["no_face", "error"]);
  const npy = parseNpy(await readFile(join(merged, "embeddings.npy")));
  assert.deepEqual(npy.shape, [14, 512]);
  assert.ok((npy.data as Float32Array).subarray(5 * 512, 6 * 512).every((v) => v === 0));
  assert.ok((npy.data as Float32Array).subarray(4 * 512, 5 * 512).some((v) => v !== 0));

  // Without a config: explicit outputs, the same bytes (and a JSON-lines index on request).
  const adHoc = join(root, "ad-hoc");
  const plain = await runCli(["merge", "--partials", collected, "--out", join(adHoc, "emb.npy"), "--index-out", join(adHoc, "index.parquet")]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok((await readFile(join(work("single"), "embeddings.npy"))).equals(await readFile(join(adHoc, "emb.npy"))));
  assert.ok((await readFile(join(work("single"), "embeddings-index.parquet"))).equals(await readFile(join(adHoc, "index.parquet"))));

  // A merge is a finished embed stage: embed --config on the merged work dir runs no model and rewrites the same bytes.
  const again = await embed(merged);
  assert.deepEqual([again.cached, again.computed, again.provider], [13, 0, "cache"]);
  assert.ok((await readFile(join(work("single"), "embeddings.npy"))).equals(await readFile(join(merged, "embeddings.npy"))));
});

test("merge refuses missing, repeated, foreign and tampered partials, naming what is wrong", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const collected = join(root, "collected");
  if (!existsSync(join(collected, `embed-2-of-${SHARDS}`))) return t.skip("needs the partials of the previous test");
  const merge = (...args: string[]) => runCli(["merge", "--config", configFile, "--work-dir", work("refused"), ...args]);
  const part = (i: number) => join(collected, `embed-${i}-of-${SHARDS}`);

  let result = await merge("--partials", part(0), part(2));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /missing shard\(s\) 1\/3/);

  result = await merge("--partials", part(0), part(1), part(2), part(1));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /shard 1\/3 given twice/);

  // A partial made with other models or thresholds (its fingerprint) does not belong to this config.
  const foreign = join(root, "foreign");
  await cp(collected, foreign, { recursive: true });
  const manifestPath = join(foreign, `embed-1-of-${SHARDS}`, "partial.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
  await writeFile(manifestPath, JSON.stringify({ ...manifest, fingerprint: "0".repeat(64) }));
  result = await merge("--partials", foreign);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /partials do not belong together: fingerprint/);
  await writeFile(manifestPath, JSON.stringify({ ...manifest, shard: { index: 1, count: 4 } }));
  result = await merge("--partials", foreign);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /one of 3 shards, .* one of 4/);
  // Same foreign fingerprint on every partial: they agree with each other but not with the config.
  await writeFile(manifestPath, JSON.stringify(manifest));
  for (let i = 0; i < SHARDS; i++) {
    const path = join(foreign, `embed-${i}-of-${SHARDS}`, "partial.json");
    const m = JSON.parse(await readFile(path, "utf8"));
    await writeFile(path, JSON.stringify({ ...m, fingerprint: "0".repeat(64) }));
  }
  result = await merge("--partials", foreign);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /was not made from this config: fingerprint .*models or preprocessing differ/);

  // Files changed after the manifest was written.
  const tampered = join(root, "tampered");
  await cp(collected, tampered, { recursive: true });
  const npyPath = join(tampered, `embed-2-of-${SHARDS}`, "embeddings.npy");
  const bytes = await readFile(npyPath);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
  await writeFile(npyPath, bytes);
  result = await merge("--partials", tampered);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /embed-2-of-3\/embeddings\.npy is not the file partial\.json describes \(SHA-256 differs\)/);

  // An unfinished shard has no manifest.
  await rm(join(tampered, `embed-0-of-${SHARDS}`, "partial.json"));
  result = await merge("--partials", join(tampered, `embed-0-of-${SHARDS}`));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no partial\.json; the shard did not finish/);
  assert.equal(existsSync(join(work("refused"), "embeddings.npy")), false, "a refused merge writes nothing");

  // --shard is checked before anything runs.
  result = await runCli(["embed", "--config", configFile, "--shard", "3/3"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--shard must be i\/n with 0 <= i < n/);
});
