import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../support/run-cli.ts";
import { bytes, startEmulator, TOKEN } from "./setup.ts";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

test("pull --config fetches the source shards of the split and both pinned model files", async (t) => {
  const { hub, dir } = await startEmulator();
  t.after(() => hub.close());
  const shard0 = bytes(3000, 1);
  const shard1 = bytes(2000, 2);
  const sourceCommit = await hub.seed({
    repo: "src/faces",
    files: {
      "data/train-00000-of-00002-abc.parquet": shard0,
      "data/train-00001-of-00002-abc.parquet": shard1,
      "data/validation-00000-of-00001-abc.parquet": bytes(1000, 3),
      "README.md": "# source\n",
    },
  });
  const detector = bytes(5000, 4);
  const recognizer = bytes(7000, 5);
  const detCommit = await hub.seed({ repo: "models/det", type: "model", files: { "det.onnx": detector } });
  // The recognizer's pinned revision is a tag: it resolves to the commit that holds this file.
  const recCommit = await hub.seed({ repo: "models/rec", type: "model", files: { "rec.onnx": recognizer }, tag: "v1" });
  await hub.seed({ repo: "models/rec", type: "model", files: { "rec.onnx": bytes(7000, 6) } });

  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    `name: pulled
source: {repo: src/faces, revision: ${sourceCommit}, split: train}
models:
  detector: {kind: scrfd, repo: models/det, file: det.onnx, revision: ${detCommit}, sha256: ${sha256(detector)}}
  recognizer: {repo: models/rec, file: rec.onnx, revision: v1}
release: {target: me/out}
`,
  );
  const env = { HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "cache") };
  const result = await runCli(["pull", "--config", config, "--json"], { env });
  assert.equal(result.code, 0, result.stderr);
  const inputs = JSON.parse(result.stdout);
  assert.equal(inputs.sourceCommit, sourceCommit);
  assert.deepEqual(readFileSync(join(inputs.sourcePath, "data/train-00000-of-00002-abc.parquet")), Buffer.from(shard0));
  assert.deepEqual(readFileSync(join(inputs.sourcePath, "data/train-00001-of-00002-abc.parquet")), Buffer.from(shard1));
  assert.throws(() => realpathSync(join(inputs.sourcePath, "data/validation-00000-of-00001-abc.parquet")), /ENOENT/);
  assert.deepEqual(inputs.detector, { path: join(dir, "cache", "models--models--det", "snapshots", detCommit, "det.onnx"), sha256: sha256(detector), commit: detCommit });
  assert.equal(inputs.recognizer.commit, recCommit);
  assert.equal(inputs.recognizer.sha256, sha256(recognizer));
  assert.ok(!result.stderr.includes(TOKEN) && !result.stdout.includes(TOKEN));

  // A wrong expected hash is a config error naming the key; the second pull needs no download.
  writeFileSync(config, readFileSync(config, "utf8").replace(sha256(detector), "f".repeat(64)));
  hub.clearRequests();
  const mismatch = await runCli(["pull", "--config", config], { env });
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /models\.detector\.sha256 expects f{64}/);
  assert.equal(hub.requests.filter((r) => r.path.includes("/resolve/")).length, 0);
});
