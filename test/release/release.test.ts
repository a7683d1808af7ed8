/**
 * The release writer on the 40 labelled fixture faces (8 people): shards read back by DuckDB with
 * the expected types and metadata, sharding and row groups under small limits, byte-identical
 * reruns, pass-through ClassLabel columns, and `verifyRelease` catching broken releases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDuckDb } from "../../src/release/open-duckdb.ts";
import { listImageFolder, openImageFolder, openParquetImages } from "../../src/source/index.ts";
import { exportRelease } from "../../src/release/export-release.ts";
import type { EmbedIndexEntry } from "../../src/release/read-embed-index.ts";
import { parquetPassThroughColumns } from "../../src/release/pass-through-columns.ts";
import { ArrowSizeCounter, CORE_COLUMNS, type ReleaseColumn, type ReleaseRow } from "../../src/release/release-schema.ts";
import { huggingfaceInArrowSchema, verifyRelease } from "../../src/release/verify-release.ts";
import { writeReleaseShards } from "../../src/release/write-release-shards.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");
const present = existsSync(join(FACES, "labels.json"));
const SKIP = "../shared/fixtures missing";

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-release-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The fixture faces as the embed + cluster stages would leave them: row 7 has no face (dropped),
 * every other row's label is its person, numbered by first appearance like DBSCAN's clusters.
 */
async function fixtureInputs(): Promise<{ index: EmbedIndexEntry[]; labels: BigInt64Array; persons: string[] }> {
  const truth = JSON.parse(readFileSync(join(FACES, "labels.json"), "utf8")) as Record<string, string>;
  const entries = await listImageFolder({ folder: FACES });
  const numbering = new Map<string, number>();
  const labels: bigint[] = [];
  const persons: string[] = [];
  const index = entries.map((entry, row): EmbedIndexEntry => {
    if (row === 7) return { row, fileName: entry.fileName, imageSha256: null, status: "no_face", reason: "no face detected", embeddingRow: null };
    const person = truth[entry.fileName]!;
    if (!numbering.has(person)) numbering.set(person, numbering.size);
    labels.push(BigInt(numbering.get(person)!));
    persons.push(person);
    return { row, fileName: entry.fileName, imageSha256: null, status: "ok", reason: null, embeddingRow: labels.length - 1 };
  });
  return { index, labels: BigInt64Array.from(labels), persons };
}

async function buildFixtureRelease(outDir: string, options: { maxShardSize?: number; rowGroupSize?: number } = {}) {
  const { index, labels } = await fixtureInputs();
  return exportRelease({
    source: await openImageFolder({ folder: FACES }),
    index,
    labels,
    passThrough: [],
    outDir,
    split: "train",
    maxShardSize: options.maxShardSize ?? 500e6,
    rowGroupSize: options.rowGroupSize ?? 100,
    spoolPath: join(outDir, "..", "spool", "images.bin"),
  });
}


test("a release from the fixture faces: DuckDB reads every shard with the expected types, metadata and values", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, "release");
  const result = await buildFixtureRelease(out);
  const { persons } = await fixtureInputs();
  assert.equal(result.data.numExamples, 39);
  assert.deepEqual(result.problems, [{ row: 7, fileName: "bernadette/bernadette3.png", status: "no_face", reason: "no face detected" }]);
  assert.deepEqual(result.data.shards.map((s) => s.path), ["data/train-00000-of-00001.parquet"]);
  const file = join(out, result.data.shards[0]!.path);
  assert.equal(result.data.downloadSize, readFileSync(file).length);

  const db = await openDuckDb();
  t.after(() => db.close());
  const columns = await db.all(`describe select * from '${file}'`);
  assert.deepEqual(
    columns.map((c) => [c.column_name, c.column_type]),
    [
      ["image", "STRUCT(bytes BLOB, path VARCHAR)"],
      ["file_name", "VARCHAR"],
      ["cluster_id", "BIGINT"],
      ["cluster_size", "BIGINT"],
    ],
  );
  const kv = new Map((await db.all(`select decode(key) as k, decode(value) as v from parquet_kv_metadata('${file}')`)).map((r) => [r.k, r.v as string]));
  const expected = {
    info: {
      features: {
        image: { _type: "Image" },
        file_name: { dtype: "string", _type: "Value" },
        cluster_id: { dtype: "int64", _type: "Value" },
        cluster_size: { dtype: "int64", _type: "Value" },
      },
    },
  };
  assert.deepEqual(JSON.parse(kv.get("huggingface")!), expected, "huggingface as a key/value entry");
  assert.deepEqual(JSON.parse(huggingfaceInArrowSchema(kv.get("ARROW:schema")!)!), expected, "huggingface inside ARROW:schema");
  assert.ok(!kv.has("content_defined_chunking"));

  const chunks = await db.all(`select path_in_schema as p, compression as c, encodings as e from parquet_metadata('${file}') where row_group_id = 0`);
  for (const chunk of chunks) {
    const image = String(chunk.p).startsWith("image");
    assert.equal(chunk.c, image ? "UNCOMPRESSED" : "SNAPPY", String(chunk.p));
    assert.equal(String(chunk.e).includes("DICTIONARY"), !image, `${String(chunk.p)}: ${String(chunk.e)}`);
  }

  // Values: source order, bare path, the source bytes kept, sizes = count of the id.
  const rows = await db.all(`select image.path as path, octet_length(image.bytes) as n, sha256(image.bytes) as h, file_name, cluster_id, cluster_size from '${file}'`);
  const entries = (await listImageFolder({ folder: FACES })).filter((_, i) => i !== 7);
  assert.deepEqual(rows.map((r) => r.file_name), entries.map((e) => e.fileName));
  assert.deepEqual(rows.map((r) => r.path), entries.map((e) => e.fileName.split("/").pop()));
  const { createHash } = await import("node:crypto");
  assert.deepEqual(rows.map((r) => r.h), entries.map((e) => createHash("sha256").update(readFileSync(e.path)).digest("hex")));
  const countOf = new Map<string, number>();
  for (const p of persons) countOf.set(p, (countOf.get(p) ?? 0) + 1);
  assert.deepEqual(rows.map((r) => Number(r.cluster_size)), persons.map((p) => countOf.get(p)));
  assert.equal(new Set(rows.map((r) => r.cluster_id)).size, 8);
  assert.equal(countOf.get("bernadette"), 4);

  const verified = await verifyRelease({ folder: out, card: false });
  assert.deepEqual(verified.problems, []);
  assert.equal(verified.splits[0]!.numBytes, result.data.numBytes, "DuckDB's Arrow size equals the writer's");
});

test("small limits: shard count from the Arrow size, contiguous shards (first n % k one row longer), small row groups", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, "release");
  const full = await buildFixtureRelease(join(dir, "one"));
  const limit = Math.floor(full.data.numBytes / 5); // int(nbytes / limit) + 1 = 6 shards for 39 rows
  const result = await buildFixtureRelease(out, { maxShardSize: limit, rowGroupSize: 3 });
  assert.equal(result.data.numBytes, full.data.numBytes);
  assert.deepEqual(
    result.data.shards.map((s) => [s.path, s.rows]),
    [0, 1, 2, 3, 4, 5].map((i) => [`data/train-0000${i}-of-00006.parquet`, i < 3 ? 7 : 6]),
  );
  const db = await openDuckDb();
  t.after(() => db.close());
  for (const shard of result.data.shards) {
    const file = join(out, shard.path);
    const groups = await db.all(`select distinct row_group_id, row_group_num_rows from parquet_metadata('${file}') order by 1`);
    assert.deepEqual(groups.map((g) => Number(g.row_group_num_rows)), shard.rows === 7 ? [3, 3, 1] : [3, 3]);
    const [count] = await db.all(`select count(*)::INTEGER as n from '${file}'`);
    assert.equal(count!.n, shard.rows);
  }
  // Every row read back across the shards, in order.
  const [all] = await db.all(`select count(*)::INTEGER as n, count(distinct file_name)::INTEGER as d from read_parquet('${out}/data/*.parquet')`);
  assert.deepEqual([all!.n, all!.d], [39, 39]);
  // Row groups straddle the spool's read chunks: every image must still be its own file's bytes.
  const { createHash } = await import("node:crypto");
  const hashed = await db.all(`select file_name, sha256(image.bytes) as h from read_parquet('${out}/data/*.parquet')`);
  for (const row of hashed) {
    assert.equal(row.h, createHash("sha256").update(readFileSync(join(FACES, String(row.file_name)))).digest("hex"), String(row.file_name));
  }
  assert.deepEqual((await verifyRelease({ folder: out, card: false, maxRowGroupRows: 3 })).problems, []);

  // A rerun with a larger limit leaves no stale shard of the old layout.
  const again = await buildFixtureRelease(out, { rowGroupSize: 3 });
  assert.deepEqual(again.data.shards.map((s) => s.path), ["data/train-00000-of-00001.parquet"]);
  assert.deepEqual((await verifyRelease({ folder: out, card: false, maxRowGroupRows: 3 })).problems, []);
});

test("two runs give byte-identical shards", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  const a = await buildFixtureRelease(join(dir, "a"), { maxShardSize: 200_000, rowGroupSize: 4 });
  const b = await buildFixtureRelease(join(dir, "b"), { maxShardSize: 200_000, rowGroupSize: 4 });
  assert.ok(a.data.shards.length >= 2);
  assert.deepEqual(a.data, b.data);
  for (const shard of a.data.shards) {
    assert.ok(readFileSync(join(dir, "a", shard.path)).equals(readFileSync(join(dir, "b", shard.path))), shard.path);
  }
});

test("row groups encoded on worker threads give the same bytes as encoded inline", async (t) => {
  const dir = await tempDir(t);
  const rows: ReleaseRow[] = Array.from({ length: 57 }, (_, i) => ({
    image: i === 5 ? null : { bytes: Uint8Array.from({ length: 200 + i * 13 }, (_, j) => (i * 31 + j * 7) & 255), path: i === 9 ? null : `${i}.jpg` },
    file_name: `f/${i}.jpg`,
    cluster_id: i % 4 === 0 ? null : i % 6,
    cluster_size: i % 4 === 0 ? null : 9,
  }));
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  rows.forEach((r) => counter.add(r));
  const write = (out: string, encodeWorkers: number) =>
    writeReleaseShards({ outDir: join(dir, out), split: "train", columns: CORE_COLUMNS, rows, numRows: rows.length, numBytes: counter.bytes(), maxShardSize: 5000, rowGroupSize: 4, encodeWorkers });
  const inline = await write("inline", 0);
  const pooled = await write("pooled", 2);
  assert.ok(inline.shards.length >= 3);
  assert.deepEqual(pooled, inline);
  for (const shard of inline.shards) {
    assert.ok(readFileSync(join(dir, "inline", shard.path)).equals(readFileSync(join(dir, "pooled", shard.path))), shard.path);
  }
  const db = await openDuckDb();
  t.after(() => db.close());
  const back = await db.all(`select image is null as no_image, image.path as path, cluster_id from read_parquet('${join(dir, "pooled")}/data/*.parquet')`);
  assert.equal(back.length, 57);
  assert.deepEqual([back[5]!.no_image, back[9]!.path, back[8]!.cluster_id, back[7]!.cluster_id], [true, null, null, 1n]);
});

test("a ClassLabel pass-through column keeps its names; resize re-encodes at the configured size", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  // A source shaped like jxie/celeba-hq: image + label ClassLabel(female, male).
  const entries = await listImageFolder({ folder: FACES });
  const columns: ReleaseColumn[] = [
    CORE_COLUMNS[0]!,
    { name: "label", type: "int64", feature: { _type: "ClassLabel", names: ["female", "male"] } },
  ];
  const female = new Set(["amy", "bernadette", "penny"]);
  const rows: ReleaseRow[] = entries.map((e) => ({
    image: { bytes: readFileSync(e.path), path: e.fileName.split("/").pop()! },
    label: female.has(e.fileName.split("/")[0]!) ? 0 : 1,
  }));
  const counter = new ArrowSizeCounter(columns);
  rows.forEach((r) => counter.add(r));
  const sourceDir = join(dir, "source");
  await writeReleaseShards({ outDir: sourceDir, split: "train", columns, rows, numRows: rows.length, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 8 });
  const sourceFile = join(sourceDir, "data", "train-00000-of-00001.parquet");
  const passThrough = await parquetPassThroughColumns({ file: sourceFile, names: ["label"] });
  assert.deepEqual(passThrough, [{ name: "label", type: "int64", feature: { _type: "ClassLabel", names: ["female", "male"] } }]);

  const index: EmbedIndexEntry[] = entries.map((e, row) => ({ row, fileName: e.fileName.split("/").pop()!, imageSha256: null, status: "ok", reason: null, embeddingRow: row }));
  const out = join(dir, "release");
  const result = await exportRelease({
    source: await openParquetImages({ files: [sourceFile], passThrough: ["label"] }),
    index,
    labels: BigInt64Array.from(entries, (_, i) => BigInt(Math.floor(i / 5))),
    passThrough,
    transform: { size: 64, fit: "fill", kernel: "lanczos3", format: "jpeg", quality: 90 },
    outDir: out,
    split: "train",
    maxShardSize: 500e6,
    rowGroupSize: 100,
    spoolPath: join(dir, "spool.bin"),
  });
  assert.deepEqual(result.data.features.map(([n]) => n), ["image", "file_name", "cluster_id", "cluster_size", "label"]);
  const db = await openDuckDb();
  t.after(() => db.close());
  const file = join(out, result.data.shards[0]!.path);
  const read = await db.all(`select label, cluster_size, image.bytes as b, image.path as path from '${file}'`);
  assert.deepEqual(read.slice(0, 2).map((r) => r.path), ["amy1.jpg", "amy2.jpg"], "the re-encoded image's extension");
  assert.deepEqual(read.map((r) => Number(r.label)), rows.map((r) => r.label));
  assert.ok(read.every((r) => Number(r.cluster_size) === 5));
  const sharp = (await import("sharp")).default;
  const meta = await sharp(Buffer.from(read[0]!.b as Uint8Array)).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 64, 64]);
  const [kv] = await db.all(`select decode(value) as v from parquet_kv_metadata('${file}') where decode(key) = 'huggingface'`);
  assert.deepEqual(JSON.parse(kv!.v as string).info.features.label, { names: ["female", "male"], _type: "ClassLabel" });
  // The card's features as push_to_hub writes a ClassLabel (names keyed by their id as strings).
  const { numBytes, numExamples, downloadSize } = result.data;
  await writeFile(
    join(out, "README.md"),
    `---\ndataset_info:\n  features:\n  - name: image\n    dtype: image\n  - name: file_name\n    dtype: string\n  - name: cluster_id\n    dtype: int64\n  - name: cluster_size\n    dtype: int64\n` +
      `  - name: label\n    dtype:\n      class_label:\n        names:\n          '0': female\n          '1': male\n` +
      `  splits:\n  - name: train\n    num_bytes: ${numBytes}\n    num_examples: ${numExamples}\n  download_size: ${downloadSize}\n  dataset_size: ${numBytes}\n---\n`,
  );
  assert.deepEqual((await verifyRelease({ folder: out })).problems, []);
});

test("verify catches a wrong cluster_size, a missing shard and a card that disagrees with the data", { skip: !present && SKIP }, async (t) => {
  const dir = await tempDir(t);
  // Shards whose cluster_size lies for cluster 1.
  const rows: ReleaseRow[] = [0, 0, 1, 1, 1].map((id, i) => ({
    image: { bytes: new Uint8Array([i, 1, 2]), path: `${i}.jpg` },
    file_name: `${i}.jpg`,
    cluster_id: id,
    cluster_size: id === 0 ? 2 : 2,
  }));
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  rows.forEach((r) => counter.add(r));
  const bad = join(dir, "bad");
  await writeReleaseShards({ outDir: bad, split: "train", columns: CORE_COLUMNS, rows, numRows: 5, numBytes: counter.bytes(), maxShardSize: 150, rowGroupSize: 100 });
  const problems = (await verifyRelease({ folder: bad, card: false })).problems;
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.equal(problems[0], "split train: 1 cluster_id(s) whose cluster_size is not their row count (e.g. cluster_id 1: 3 row(s), cluster_size 2 at data/train-00000-of-00002.parquet row 2 (2.jpg))");

  // A missing shard breaks the 00000..n-1 sequence and the contiguous counts.
  await rm(join(bad, "data", "train-00001-of-00002.parquet"));
  assert.ok((await verifyRelease({ folder: bad, card: false })).problems.some((p) => /are not exactly 00000\.\.00001 of 2/.test(p)));

  // A card whose dataset_info says something else than the data.
  const out = join(dir, "release");
  const result = await buildFixtureRelease(out);
  const { numBytes, numExamples, downloadSize } = result.data;
  const card = (examples: number) =>
    `---\ndataset_info:\n  features:\n  - name: image\n    dtype: image\n  - name: file_name\n    dtype: string\n  - name: cluster_id\n    dtype: int64\n  - name: cluster_size\n    dtype: int64\n` +
    `  splits:\n  - name: train\n    num_bytes: ${numBytes}\n    num_examples: ${examples}\n  download_size: ${downloadSize}\n  dataset_size: ${numBytes}\n---\n# card\n`;
  await writeFile(join(out, "README.md"), card(numExamples));
  assert.deepEqual((await verifyRelease({ folder: out })).problems, []);
  await writeFile(join(out, "README.md"), card(numExamples + 1));
  assert.deepEqual((await verifyRelease({ folder: out })).problems, [`README.md: train num_examples ${numExamples + 1}, the shards hold ${numExamples}`]);
  assert.match(await readFile(join(out, "README.md"), "utf8"), /num_examples: 40/);
});
