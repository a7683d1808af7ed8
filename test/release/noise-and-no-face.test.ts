/**
 * Issue #10 (items 7 and 12) on the fixture faces plus two images without a face (plain gradients):
 * `noise: keep` rows are written as cluster_id -1 / cluster_size 1, `no_face: keep` rows as null /
 * null, the card says "N images: I in M identities, K noise images (-1), F without a detected face"
 * and the numbers add up; card-inputs.json and every other file of the release name no folder of
 * the build machine; `verify` recounts everything from the shards and names the shard and row of
 * each tampered value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDuckDb } from "../../src/release/open-duckdb.ts";
import { checkCard, loadCardInputs, saveCardInputs, writeCard } from "../../src/card/index.ts";
import type { CardInputs, ClusterStats } from "../../src/card/index.ts";
import { setLogSink } from "../../src/common/logger.ts";
import { parseConfig } from "../../src/config/index.ts";
import { listImageFolder, openImageFolder } from "../../src/source/index.ts";
import { exportRelease } from "../../src/release/export-release.ts";
import type { EmbedIndexEntry } from "../../src/release/read-embed-index.ts";
import { ArrowSizeCounter, CORE_COLUMNS, type ReleaseRow } from "../../src/release/release-schema.ts";
import { verifyRelease } from "../../src/release/verify-release.ts";
import { writeReleaseShards } from "../../src/release/write-release-shards.ts";
import { facesWithoutFaces } from "./no-face-images.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");
const CONFIG = fileURLToPath(new URL("../../configs/fixtures-local.yaml", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const present = existsSync(join(FACES, "labels.json"));
const SKIP = "../shared/fixtures missing";
const SHARD = "data/train-00000-of-00001.parquet";

// Merge warnings of the card are not what this file tests.
setLogSink(() => {});

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-noise-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The release config of the fixtures with `noise: keep` and `no_face: keep`. */
function keepConfig(workDir: string) {
  const text = readFileSync(CONFIG, "utf8").replace("noise: singleton", "noise: keep").replace("faces:\n", "faces:\n  no_face: keep\n");
  const config = parseConfig(text, { file: CONFIG, workDir });
  assert.equal(config.clustering.noise, "keep");
  assert.equal(config.faces.noFace, "keep");
  return config;
}

/**
 * What embed (`no_face: keep`: every row has an embedding row, all zeros without a face) and
 * cluster (`noise: keep`) leave for this folder: each person's id by first appearance, the last image
 * of the first three people DBSCAN noise (-1), and -1 for the zero rows too (DBSCAN's noise).
 */
async function keepInputs(folder: string) {
  const truth = JSON.parse(readFileSync(join(FACES, "labels.json"), "utf8")) as Record<string, string>;
  const entries = await listImageFolder({ folder });
  const lastOf = new Map<string, string>();
  for (const e of entries) if (truth[e.fileName]) lastOf.set(truth[e.fileName]!, e.fileName);
  const noiseFiles = new Set([...lastOf.values()].slice(0, 3));
  const numbering = new Map<string, number>();
  const labels: bigint[] = [];
  const index = entries.map((entry, row): EmbedIndexEntry => {
    const person = truth[entry.fileName];
    labels.push(person === undefined || noiseFiles.has(entry.fileName) ? -1n : BigInt(numbering.get(person) ?? numbering.set(person, numbering.size).get(person)!));
    return person === undefined
      ? { row, fileName: entry.fileName, imageSha256: null, status: "no_face", reason: "no face found", embeddingRow: row }
      : { row, fileName: entry.fileName, imageSha256: null, status: "ok", reason: null, embeddingRow: row };
  });
  return { entries, index, labels: BigInt64Array.from(labels), noiseFiles };
}

/** The cluster statistics `cluster --noise keep` writes for those labels (42 rows, 2 of them zero rows). */
function keepStats(): ClusterStats {
  return {
    rows: 42,
    input_rows: 42,
    identities: 8,
    clusters: 8,
    noise_rows: 5,
    multi_image_clusters: 8,
    singletons: 0,
    largest_cluster: 5,
    size_distribution: { "4": 3, "5": 5 },
    eps: 0.5,
    min_samples: 2,
    noise_policy: "keep",
    dtype: "float32",
    similarity_threshold: 0.4999999701976776,
    nearest_neighbor: { share_within_eps: 0.880952, non_noise_share: 0.880952 },
    ambiguous_pairs: [],
  };
}


/** Builds the release folder (shards, card, card-inputs.json) and returns what verify needs. */
async function buildKeepRelease(dir: string) {
  const folder = await facesWithoutFaces(dir);
  const { index, labels, noiseFiles } = await keepInputs(folder);
  const out = join(dir, "release");
  const result = await exportRelease({
    source: await openImageFolder({ folder }),
    index,
    labels,
    passThrough: [],
    outDir: out,
    split: "train",
    maxShardSize: 500e6,
    rowGroupSize: 10,
    spoolPath: join(dir, "spool", "images.bin"),
  });
  const config = keepConfig(join(dir, "work"));
  const location = (m: typeof config.detector | typeof config.recognizer) => (m.location.kind === "local" ? m.location.path : "");
  const inputs: CardInputs = {
    config,
    data: result.data,
    clusterStats: keepStats(),
    problems: result.problems,
    models: [
      { role: "detector", kind: "yunet", path: location(config.detector), sha256: config.detector.sha256!, license: "MIT" },
      { role: "recognizer", path: location(config.recognizer), sha256: config.recognizer.sha256!, license: "MIT" },
    ],
    source: { path: folder, split: "train" },
    toolVersion: "0.1.0",
  };
  await writeCard({ inputs, outDir: out });
  await saveCardInputs({ inputs, path: join(out, "card-inputs.json") });
  const verify = async () =>
    verifyRelease({
      folder: out,
      maxRowGroupRows: 10,
      localPaths: [config.workDir, folder],
      checkCard: async (cardText, data) => {
        const saved = await loadCardInputs({ path: join(out, "card-inputs.json"), config });
        return checkCard({ cardText, inputs: { ...saved, data } });
      },
    });
  return { out, folder, result, inputs, noiseFiles, verify };
}

/** Rewrites the release's only shard with `edit` applied to its rows (read back with DuckDB). */
async function rewriteShard(out: string, edit: (rows: ReleaseRow[]) => void): Promise<void> {
  const db = await openDuckDb();
  let rows: ReleaseRow[];
  try {
    const read = await db.all(
      `select image.bytes as b, image.path as p, file_name, cluster_id, cluster_size from read_parquet('${join(out, SHARD)}', file_row_number = true) order by file_row_number`,
    );
    rows = read.map((r) => ({
      image: { bytes: r.b as Uint8Array, path: r.p as string },
      file_name: r.file_name,
      cluster_id: r.cluster_id === null ? null : Number(r.cluster_id),
      cluster_size: r.cluster_size === null ? null : Number(r.cluster_size),
    }));
  } finally {
    db.close();
  }
  edit(rows);
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  rows.forEach((r) => counter.add(r));
  await writeReleaseShards({ outDir: out, split: "train", columns: CORE_COLUMNS, rows, numRows: rows.length, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 10 });
}

/** Every file of a folder, recursively (relative paths). */
async function allFiles(folder: string): Promise<string[]> {
  return (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

test("noise: keep and no_face: keep: -1 / 1 for noise, null / null without a face, the card adds up, verify passes", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const { out, folder, result, noiseFiles, verify } = await buildKeepRelease(dir);

  // The shard as DuckDB reads it.
  const db = await openDuckDb();
  t.after(() => db.close());
  const rows = await db.all(`select file_name, cluster_id, cluster_size, image.path as path from read_parquet('${join(out, SHARD)}', file_row_number = true) order by file_row_number`);
  assert.equal(rows.length, 42);
  const byName = new Map(rows.map((r) => [String(r.file_name), r]));
  for (const name of ["gradient-a.png", "gradient-b.png"]) {
    assert.deepEqual([byName.get(name)!.cluster_id, byName.get(name)!.cluster_size, byName.get(name)!.path], [null, null, name], name);
  }
  assert.equal(noiseFiles.size, 3);
  for (const name of noiseFiles) assert.deepEqual([byName.get(name)!.cluster_id, byName.get(name)!.cluster_size], [-1n, 1n], name);
  const identityRows = rows.filter((r) => r.cluster_id !== null && r.cluster_id !== -1n);
  assert.equal(identityRows.length, 37);
  for (const r of identityRows) {
    assert.equal(Number(r.cluster_size), identityRows.filter((x) => x.cluster_id === r.cluster_id).length, String(r.file_name));
  }
  assert.ok(rows.every((r) => !String(r.path).includes("/")), "image.path is the bare file name");
  assert.deepEqual(result.data.labels, { identities: 8, identityRows: 37, noiseRows: 3, noFaceRows: 2, sizeDistribution: { "4": 3, "5": 5 } });

  // The card: the release's rows by kind, adding up to the row count, and DBSCAN's noise among faces.
  const card = await readFile(join(out, "README.md"), "utf8");
  assert.ok(card.includes("**42 images: 37 in 8 identities, 3 noise images (`cluster_id` -1), 2 images without a detected face (`cluster_id` null)**"), card);
  assert.ok(card.includes("DBSCAN found 8 clusters and 3 noise images among the 40 images with a face"));
  assert.ok(card.includes("for each of the 40 images with a face:"));
  assert.ok(card.includes("**8 identities over 42 images**"));
  assert.ok(card.includes("3 images are DBSCAN noise, with `cluster_id` -1 and no identity. 2 images have no detected face and a null `cluster_id`."));
  assert.ok(card.includes("**Images without a detected face: 2 source image(s) are in the release with a null `cluster_id`"));
  assert.ok(!card.includes("Dropped images"), "nothing was dropped");
  assert.ok(card.includes("| 4 | 3 | 12 |\n| 5 | 5 | 25 |"), "identity sizes from the release rows");
  assert.ok(card.includes("(37 images, 88.1%)"));
  assert.ok(card.includes("92.5% of the images have their nearest neighbour within it (92.5% are not DBSCAN noise)"), "shares of the 40 faces, not of 42 rows");
  assert.ok(card.includes("-1: DBSCAN noise (no identity); null: no face detected"));
  assert.ok(card.includes("- Source: local source `faces`, split `train`"));
  assert.ok(card.includes("| detector | yunet | local file `yunet_n_dynamic.onnx` |"));

  const saved = JSON.parse(await readFile(join(out, "card-inputs.json"), "utf8"));
  assert.deepEqual(saved.source, { split: "train", name: "faces" });
  assert.deepEqual(saved.models.map((m: { file: string; path?: string }) => [m.file, m.path]), [["yunet_n_dynamic.onnx", undefined], ["mobilefacenet_arcface_512.onnx", undefined]]);
  assert.deepEqual(saved.policies, { noFace: "keep", noise: "keep" });
  assert.deepEqual(saved.data.labels, result.data.labels);

  // No file of the release names a folder of this machine.
  for (const file of await allFiles(out)) {
    const bytes = await readFile(file);
    for (const local of [dir, folder, homedir(), REPO, FIXTURES]) {
      if (local.length > 1) assert.equal(bytes.indexOf(local), -1, `${file} names ${local}`);
    }
  }

  const verified = await verify();
  assert.deepEqual(verified.problems, []);
  assert.deepEqual(verified.splits[0]!.labels, result.data.labels, "verify's recount equals the writer's count");
  assert.ok(verified.checks.some((c) => c.includes("37 in 8 identities, 3 noise, 2 without a face")));
  assert.ok(verified.checks.includes("card generated numbers") && verified.checks.includes("card-inputs.json against the data") && verified.checks.includes("no local paths"));
});

test("verify names the shard and row of a no-face row with an id and of a noise row with a null id", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const { out, noiseFiles, verify } = await buildKeepRelease(dir);
  const db = await openDuckDb();
  t.after(() => db.close());
  const names = (await db.all(`select file_name from read_parquet('${join(out, SHARD)}', file_row_number = true) order by file_row_number`)).map((r) => String(r.file_name));
  const gradient = names.indexOf("gradient-a.png");
  const noise = names.indexOf([...noiseFiles][0]!);
  assert.ok(gradient >= 0 && noise >= 0);

  // A row without a face given an identity (and the identity's size to match).
  await rewriteShard(out, (rows) => {
    const id = rows.find((r) => typeof r.cluster_id === "number" && r.cluster_id >= 0)!.cluster_id as number;
    const size = rows.filter((r) => r.cluster_id === id).length + 1;
    for (const r of rows) if (r.cluster_id === id) r.cluster_size = size;
    rows[gradient]!.cluster_id = id;
    rows[gradient]!.cluster_size = size;
  });
  let problems = (await verify()).problems;
  assert.ok(
    problems.includes(`${SHARD} row ${gradient} (gradient-a.png): no face was detected in this image (card-inputs.json problems), but its cluster_id is 0; a row without a face has a null cluster_id`),
    problems.join("\n"),
  );
  assert.ok(problems.includes("card-inputs.json: data.labels.identityRows is 37, the shards give 38"), problems.join("\n"));
  assert.ok(problems.some((p) => /^README\.md: block labels, line \d+: .*42 images: 37 in 8 identities.*42 images: 38 in 8 identities/.test(p)), problems.join("\n"));

  // A noise row written as null (what the old writer did) instead of -1.
  await rm(out, { recursive: true });
  const again = await buildKeepRelease(await mkdtemp(join(dir, "again-")));
  await rewriteShard(again.out, (rows) => {
    rows[noise]!.cluster_id = null;
    rows[noise]!.cluster_size = null;
  });
  problems = (await again.verify()).problems;
  assert.ok(
    problems.includes(
      `${SHARD} row ${noise} (${names[noise]}): cluster_id is null, but card-inputs.json lists no missing face for it (a noise row is -1, a face in an identity has an id)`,
    ),
    problems.join("\n"),
  );
  assert.ok(problems.includes("card-inputs.json: data.labels.noiseRows is 3, the shards give 2"), problems.join("\n"));

  // A noise row whose cluster_size says it is a group of all noise; an id below -1.
  await rewriteShard(again.out, (rows) => {
    rows[noise]!.cluster_id = -1;
    rows[noise]!.cluster_size = 3;
    rows[gradient]!.cluster_id = -7;
    rows[gradient]!.cluster_size = 1;
  });
  problems = (await again.verify()).problems;
  assert.ok(problems.includes(`${SHARD} row ${noise} (${names[noise]}): cluster_id -1 (DBSCAN noise) has cluster_size 3, expected 1`), problems.join("\n"));
  assert.ok(problems.includes(`${SHARD} row ${gradient} (gradient-a.png): cluster_id -7; an id is >= 0, or -1 for DBSCAN noise (clustering.noise: keep)`), problems.join("\n"));
});

test("verify fails on a card or card-inputs.json whose counts disagree with the shards, or that names a local path", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const { out, verify } = await buildKeepRelease(dir);
  const readme = join(out, "README.md");
  const inputsPath = join(out, "card-inputs.json");
  const card = await readFile(readme, "utf8");
  const inputs = await readFile(inputsPath, "utf8");

  // The card claims one noise image fewer.
  await writeFile(readme, card.replace("3 noise images (`cluster_id` -1)", "2 noise images (`cluster_id` -1)"));
  let problems = (await verify()).problems;
  assert.equal(problems.length, 3, problems.join("\n"));
  assert.deepEqual(problems.slice(0, 2), ["README.md: the card states 2 noise images (cluster_id -1), the shards hold 3", "README.md: the card's counts do not add up: 37 + 2 + 2 != 42 images"]);
  assert.match(problems[2]!, /^README\.md: block labels, line \d+: card has ".*2 noise images \(`cluster_id` -1\).*, the data gives ".*3 noise images \(`cluster_id` -1\)/);
  // Without the config (no re-rendering), the stated counts are still checked against the shards.
  const alone = await verifyRelease({ folder: out, maxRowGroupRows: 10 });
  assert.deepEqual(alone.problems, problems.slice(0, 2));
  await writeFile(readme, card.replace("**8 identities over 42 images**", "**9 identities over 42 images**"));
  assert.deepEqual((await verifyRelease({ folder: out, maxRowGroupRows: 10 })).problems, ["README.md: the card states 9 identities over 42 images, the shards hold 8 over 42"]);
  await writeFile(readme, card);

  // card-inputs.json counts that do not add up, and do not match the shards.
  const saved = JSON.parse(inputs);
  saved.data.labels.noiseRows = 4;
  await writeFile(inputsPath, JSON.stringify(saved, null, 2));
  problems = (await verify()).problems;
  assert.ok(problems.includes("card-inputs.json: data.labels do not add up: 37 image(s) in identities + 4 noise + 2 without a face != 42 rows"), problems.join("\n"));
  assert.ok(problems.includes("card-inputs.json: data.labels.noiseRows is 4, the shards give 3"), problems.join("\n"));

  // A release built with noise: singleton has no -1 rows.
  const singleton = JSON.parse(inputs);
  singleton.policies.noise = "singleton";
  await writeFile(inputsPath, JSON.stringify(singleton, null, 2));
  problems = (await verify()).problems;
  assert.ok(problems.some((p) => /^data\/train-00000-of-00001\.parquet row \d+ \(.+\): cluster_id -1, but the release was built with clustering\.noise: singleton/.test(p)), problems.join("\n"));

  // An absolute path of another machine in card-inputs.json, and this machine's temp dir.
  const leaky = JSON.parse(inputs);
  leaky.source.path = "/home/builder/datasets/faces";
  leaky.models[1].path = join(dir, "models", "rec.onnx");
  await writeFile(inputsPath, JSON.stringify(leaky, null, 2));
  problems = (await verify()).problems;
  assert.ok(problems.includes("card-inputs.json: models[1].path holds an absolute local path (" + join(dir, "models", "rec.onnx") + "); a local source or model is named by its base name and SHA-256"), problems.join("\n"));
  assert.ok(problems.includes("card-inputs.json: source.path holds an absolute local path (/home/builder/datasets/faces); a local source or model is named by its base name and SHA-256"), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("card-inputs.json line ") && p.includes(" names ")), problems.join("\n"));
  await writeFile(inputsPath, inputs);
  assert.deepEqual((await verify()).problems, []);

  // A plot or hand-written card text naming the home directory or the work dir.
  await writeFile(join(out, "assets", "notes.svg"), `<svg xmlns="http://www.w3.org/2000/svg"><text>${join(homedir(), "x.png")}</text></svg>\n`);
  await writeFile(readme, card.replace("## Citation", `## Citation\n\nBuilt in ${join(dir, "work")}.\n`));
  problems = (await verify()).problems;
  assert.ok(problems.some((p) => p.startsWith("assets/notes.svg line 1: names " + homedir())), problems.join("\n"));
  assert.ok(problems.some((p) => /^README\.md line \d+: names /.test(p) && p.includes(dir)), problems.join("\n"));
});

test("verify: image.path with a folder and file names naming the build machine fail, naming the row", async (t) => {
  const dir = await tempDir(t);
  const rows: ReleaseRow[] = [0, 1, 2].map((i) => ({
    image: { bytes: new Uint8Array([i, 1, 2]), path: i === 1 ? `${dir}/pics/${i}.jpg` : `${i}.jpg` },
    file_name: i === 2 ? join(dir, "pics", "2.jpg") : `pics/${i}.jpg`,
    cluster_id: 0,
    cluster_size: 3,
  }));
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  rows.forEach((r) => counter.add(r));
  const out = join(dir, "release");
  await mkdir(out);
  await writeReleaseShards({ outDir: out, split: "train", columns: CORE_COLUMNS, rows, numRows: 3, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 100 });
  const problems = (await verifyRelease({ folder: out, card: false })).problems;
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.equal(problems[0], `${SHARD} row 1 (pics/1.jpg): image.path ${JSON.stringify(`${dir}/pics/1.jpg`)} is not a bare file name`);
  // The longest of this machine's folders that the name holds (the temp dir, here).
  assert.match(problems[1]!, new RegExp(`^data/train-00000-of-00001\\.parquet row 2: file_name names ${tmpdir()}, a folder of the build machine$`));
});

test("an image excluded by the review leaves the release whatever its status and noise policy, counted apart", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const folder = await facesWithoutFaces(dir);
  const { index, labels, noiseFiles } = await keepInputs(folder);
  const rowOf = (name: string) => index.find((e) => e.fileName === name)!.embeddingRow!;
  const noise = [...noiseFiles][0]!;
  const excluded = ["gradient-a.png", noise, "amy/amy1.png"];
  const result = await exportRelease({
    source: await openImageFolder({ folder }),
    index,
    labels,
    excludedRows: excluded.map(rowOf),
    passThrough: [],
    outDir: join(dir, "release"),
    split: "train",
    maxShardSize: 500e6,
    rowGroupSize: 10,
    spoolPath: join(dir, "spool", "images.bin"),
  });
  assert.equal(result.excluded, 3);
  assert.equal(result.droppedNoise, 0, "an excluded noise image is not dropped noise");
  assert.deepEqual(result.problems.map((p) => p.fileName), ["gradient-b.png"], "an excluded image without a face is no problem row");
  assert.deepEqual(result.data.labels, { identities: 8, identityRows: 36, noiseRows: 2, noFaceRows: 1, sizeDistribution: { "3": 1, "4": 2, "5": 5 } });
  const db = await openDuckDb();
  t.after(() => db.close());
  const rows = await db.all(`select file_name from read_parquet('${join(dir, "release", SHARD)}', file_row_number = true) order by file_row_number`);
  assert.equal(rows.length, 39);
  for (const name of excluded) assert.ok(!rows.some((r) => r.file_name === name), `${name} excluded`);
  assert.deepEqual(result.sourceRows.map((row) => index[row]!.fileName), rows.map((r) => String(r.file_name)), "sourceRows names each written row's source row");

  // The card: DBSCAN saw the same 40 faces and 3 noise images among them, whatever the review left
  // out; the excluded image without a face (its zero row was clustered) no longer being a problem row.
  const config = keepConfig(join(dir, "work"));
  const inputs: CardInputs = {
    config,
    data: result.data,
    clusterStats: keepStats(),
    problems: result.problems,
    models: [{ role: "recognizer", file: "rec.onnx", sha256: "0".repeat(64) }],
    source: { name: "faces", split: "train" },
    toolVersion: "0.1.0",
    review: {
      sha256: "1".repeat(64),
      decisions: 1,
      applied: { merge: 0, split: 0, move: 0, exclude: 1, check: 0 },
      appliedIds: ["x"],
      checkedIdentities: 0,
      excludedImages: 3,
      excludedWithoutFace: 1,
      problems: 0,
    },
  };
  const out = join(dir, "release");
  await writeCard({ inputs, outDir: out });
  const card = await readFile(join(out, "README.md"), "utf8");
  assert.ok(card.includes("DBSCAN found 8 clusters and 3 noise images among the 40 images with a face"), card);
  assert.ok(card.includes("for each of the 40 images with a face:"), card);
  assert.ok(card.includes("**39 images: 36 in 8 identities, 2 noise images (`cluster_id` -1), 1 images without a detected face (`cluster_id` null)**"), card);
  assert.ok(card.includes("3 image(s) were left out by the identity review"), card);
});
