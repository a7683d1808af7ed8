/**
 * `embed`, `cluster`, `export` and `verify` through the real binary, run from a temp folder, on a
 * temp copy of the fixture faces plus two images without a face, with `faces.no_face: keep` and
 * `clustering.noise: keep` (eps 0.35: this small recognizer leaves some faces as DBSCAN noise):
 * the shards hold -1 / 1 for the real noise and null / null for the gradients, the card's numbers
 * are the shards' and add up, no file of the release names a folder of the build machine, and
 * `verify` fails on a tampered card or card-inputs.json, naming what is wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { runCli } from "../support/run-cli.ts";
import { FACES, FIXTURES, NO_FACE_FILES, facesWithoutFaces } from "./no-face-images.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const MODELS = join(FIXTURES, "models");
const present = existsSync(join(FACES, "labels.json")) && existsSync(join(MODELS, "yunet_n_dynamic.onnx"));

const config = (models: string) => `# A release of a local folder with images without a face, every row kept.
name: keep_faces
source:
  path: ../faces
  format: imagefolder
  split: train
models:
  detector:
    kind: yunet
    path: ${models}/yunet_n_dynamic.onnx
    sha256: 104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12
    license: MIT
    input_size: 320
    score_threshold: 0.5
  recognizer:
    path: ${models}/mobilefacenet_arcface_512.onnx
    sha256: 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
    license: MIT
faces:
  device: cpu
  batch_size: 8
  no_face: keep
clustering:
  eps: 0.35
  min_samples: 2
  noise: keep
  id_policy: sklearn-order
release:
  target: local/keep-faces
  row_group_size: 10
  card:
    pretty_name: Fixture faces, noise and no-face rows kept
    license: mit
`;

test("no_face: keep + noise: keep end to end: shard values, card numbers, no local paths, verify catches tampering", { skip: !present && "../shared/fixtures missing", timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-keep-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const faces = await facesWithoutFaces(dir);
  await mkdir(join(dir, "configs"));
  const configFile = join(dir, "configs", "keep.yaml");
  await writeFile(configFile, config(MODELS));
  const env = { IDCLUSTERS_FIXTURES: FIXTURES };
  // Run from the temp folder, with relative paths, as a user would: the work dir is ./.idclusters/keep_faces.
  const cli = (args: string[]) => runCli(args, { env, cwd: dir });
  for (const step of ["embed", "cluster", "export"]) {
    const r = await cli([step, "--config", "configs/keep.yaml", "--quiet"]);
    assert.equal(r.code, 0, `${step}: ${r.stderr}`);
  }
  const release = join(dir, ".idclusters", "keep_faces", "release");
  const shard = join(release, "data", "train-00000-of-00001.parquet");

  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  t.after(() => {
    connection.closeSync();
    instance.closeSync();
  });
  const rows = (await connection.runAndReadAll(`select file_name, cluster_id, cluster_size, image.path as path from read_parquet('${shard}', file_row_number = true) order by file_row_number`)).getRowObjectsJS();
  assert.equal(rows.length, 42, "40 faces and 2 images without a face, all kept");
  const noFace = rows.filter((r) => NO_FACE_FILES.includes(String(r.file_name) as (typeof NO_FACE_FILES)[number]));
  assert.deepEqual(noFace.map((r) => [r.cluster_id, r.cluster_size]), [[null, null], [null, null]], "no face: null id and size");
  assert.ok(rows.filter((r) => r.cluster_id === null).length === 2, "only the images without a face are null");
  const noise = rows.filter((r) => r.cluster_id === -1n);
  assert.ok(noise.length > 0, "eps 0.35 leaves some faces as DBSCAN noise with this recognizer");
  assert.ok(noise.every((r) => r.cluster_size === 1n), "noise: -1 with cluster_size 1");
  const ids = rows.filter((r) => r.cluster_id !== null && r.cluster_id !== -1n);
  for (const r of ids) assert.equal(Number(r.cluster_size), ids.filter((x) => x.cluster_id === r.cluster_id).length);
  const identities = new Set(ids.map((r) => r.cluster_id)).size;

  // The card and card-inputs.json say what the shards hold, and the cluster stage's noise count
  // (which includes the 2 all-zero rows of the images without a face) is not taken for faces.
  const saved = JSON.parse(await readFile(join(release, "card-inputs.json"), "utf8"));
  assert.deepEqual(saved.data.labels, {
    identities,
    identityRows: ids.length,
    noiseRows: noise.length,
    noFaceRows: 2,
    sizeDistribution: saved.data.labels.sizeDistribution,
  });
  assert.equal(saved.clusterStats.noise_rows, noise.length + 2, "DBSCAN labelled the two zero rows noise as well");
  const card = await readFile(join(release, "README.md"), "utf8");
  const line = `**42 images: ${ids.length} in ${identities} identities, ${noise.length} noise images (\`cluster_id\` -1), 2 images without a detected face (\`cluster_id\` null)**`;
  assert.ok(card.includes(line), card);
  assert.equal(ids.length + noise.length + 2, 42);
  assert.ok(card.includes(`and ${noise.length} noise images among the 40 images with a face`));
  assert.deepEqual(saved.source, { split: "train", name: "faces" });
  assert.deepEqual(saved.models.map((m: { file?: string; path?: string }) => [m.file, m.path]), [["yunet_n_dynamic.onnx", undefined], ["mobilefacenet_arcface_512.onnx", undefined]]);

  // Nothing in the release folder names a folder of this machine: not the temp folder the release
  // was built in (work dir, config folder, source), not $HOME, not the repo, not the models' folder.
  const files = (await readdir(release, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  assert.ok(files.length >= 4);
  for (const entry of files) {
    const file = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const bytes = await readFile(file);
    for (const local of [dir, faces, homedir(), REPO, FIXTURES, MODELS]) {
      if (local.length > 1) assert.equal(bytes.indexOf(local), -1, `${file} names ${local}`);
    }
  }

  const verified = await cli(["verify", release, "--config", "configs/keep.yaml"]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stderr, /card generated numbers/);
  assert.match(verified.stderr, new RegExp(`${ids.length} in ${identities} identities, ${noise.length} noise, 2 without a face`));

  // A card that counts one noise image fewer fails, naming the block and both numbers.
  await writeFile(join(release, "README.md"), card.replace(line, line.replace(`${noise.length} noise images`, `${noise.length - 1} noise images`)));
  const lying = await cli(["verify", release, "--config", "configs/keep.yaml"]);
  assert.equal(lying.code, 1, lying.stderr);
  assert.match(lying.stdout, new RegExp(`README\\.md: block labels, line \\d+: card has .*${noise.length - 1} noise images.*, the data gives .*${noise.length} noise images`));
  await writeFile(join(release, "README.md"), card);

  // card-inputs.json with the source's absolute path fails, naming the key (with or without --config).
  const leaky = { ...saved, source: { ...saved.source, path: faces } };
  await writeFile(join(release, "card-inputs.json"), JSON.stringify(leaky, null, 2) + "\n");
  const leaked = await cli(["verify", release]);
  assert.equal(leaked.code, 1, leaked.stderr);
  assert.ok(leaked.stdout.includes(`card-inputs.json: source.path holds an absolute local path (${faces})`), leaked.stdout);
});
