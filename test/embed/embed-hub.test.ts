/**
 * `idclusters embed --config` with everything on a Hub (the local emulator): the dataset's split
 * shards and both model files are pulled into the Hub cache at pinned revisions, then embedded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { startHubEmulator } from "../hub-emulator/index.ts";
import { parseNpy } from "../../src/common/npy.ts";
import { makeImageParquet } from "../support/make-image-parquet.ts";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const LABELLED = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const MOBILEFACENET_SHA256 = "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581";

test("embed --config pulls the split's shards and the models from the Hub, then embeds them", async (t) => {
  if (!existsSync(LABELLED) || !existsSync(MODELS)) return t.skip("../shared/fixtures missing");
  const dir = await mkdtemp(join(tmpdir(), "idc-embed-hub-"));
  const hub = await startHubEmulator({ storage: join(dir, "storage") });
  t.after(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  const names = ["amy/amy1.png", "amy/amy2.png", "raj/raj1.png", "raj/raj2.png", "penny/penny3.png"];
  const rows = await Promise.all(names.map(async (n, i) => ({ bytes: new Uint8Array(await readFile(join(LABELLED, n))), path: `${i}.png`, label: i % 2 })));
  const train = await makeImageParquet({ rows, rowGroupSize: 2, file: join(dir, "train.parquet") });
  const validation = await makeImageParquet({ rows: rows.slice(0, 1), file: join(dir, "validation.parquet") });
  const datasetSha = await hub.seed({
    repo: "someone/faces-mini",
    files: {
      "data/train-00000-of-00001-0123abcd.parquet": train,
      "data/validation-00000-of-00001-4567ef01.parquet": validation,
      "README.md": "---\nlicense: mit\n---\n",
    },
  });
  const modelSha = await hub.seed({
    repo: "someone/face-models",
    type: "model",
    files: {
      "det/yunet.onnx": new Uint8Array(await readFile(join(MODELS, "yunet_n_dynamic.onnx"))),
      "rec/mobilefacenet.onnx": new Uint8Array(await readFile(join(MODELS, "mobilefacenet_arcface_512.onnx"))),
    },
  });

  const config = join(dir, "release.yaml");
  await writeFile(
    config,
    [
      "name: hub_embed_test",
      `source: { repo: someone/faces-mini, revision: ${datasetSha}, split: train, pass_through: [label] }`,
      "models:",
      `  detector: { kind: yunet, repo: someone/face-models, file: det/yunet.onnx, revision: ${modelSha}, input_size: 320, score_threshold: 0.5 }`,
      `  recognizer: { repo: someone/face-models, file: rec/mobilefacenet.onnx, revision: ${modelSha}, sha256: ${MOBILEFACENET_SHA256}, mean: 127.5, std: 127.5 }`,
      "faces: { device: cpu, batch_size: 4 }",
      "images: { transform: keep }",
      "release: { target: local/hub-embed-test }",
      "",
    ].join("\n"),
  );
  const work = join(dir, "work");
  const result = await runCli(["embed", "--config", config, "--hub-url", hub.url, "--cache-dir", join(dir, "hf-cache"), "--work-dir", work, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.deepEqual([summary.rows, summary.ok], [5, 5], "the validation shard is not part of the train split");
  assert.deepEqual(parseNpy(await readFile(join(work, "embeddings.npy"))).shape, [5, 512]);
  const index = tableFromIPC(readParquet(await readFile(join(work, "embeddings-index.parquet"))).intoIPCStream());
  assert.deepEqual(index.getChild("file_name")?.toArray(), ["0.png", "1.png", "2.png", "3.png", "4.png"]);
  assert.ok(existsSync(join(dir, "hf-cache", "models--someone--face-models", "snapshots", modelSha, "rec", "mobilefacenet.onnx")));
});
