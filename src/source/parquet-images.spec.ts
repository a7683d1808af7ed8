import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, openAsBlob, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Binary, Field, Int64, Struct, Table, tableToIPC, Utf8, vectorFromArray, type Vector } from "apache-arrow";
import { ParquetFile, Table as WasmTable, writeParquet } from "parquet-wasm";
import sharp from "sharp";
import { RuntimeError } from "../common/errors.ts";
import { makeImageParquet, type ImageParquetRow } from "../../test/support/make-image-parquet.ts";
import { openParquetImages, selectSplitShards } from "./parquet-images.ts";
import type { ImageSource, SourceImage } from "./image-source.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const LABELLED = join(FIXTURES, "faces", "labelled");

function fixtureFaces(): { name: string; bytes: Uint8Array }[] {
  return readdirSync(LABELLED, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".png"))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(LABELLED, name))) }));
}

const sha = (b: Uint8Array | undefined) => (b ? createHash("sha256").update(b).digest("hex") : "none");

test("shards of a split are chosen by the data/{split}-* rule and sorted", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const name of ["train-00001-of-00002-bb.parquet", "train-00000-of-00002-aa.parquet", "validation-00000-of-00001.parquet", "train.txt"]) {
    await makeImageParquet({ rows: [], file: join(root, "data", name) }).catch(() => writeFile(join(root, "data", name), ""));
  }
  const shards = await selectSplitShards({ snapshotDir: root, split: "train" });
  assert.deepEqual(shards, [join(root, "data", "train-00000-of-00002-aa.parquet"), join(root, "data", "train-00001-of-00002-bb.parquet")]);
  await assert.rejects(selectSplitShards({ snapshotDir: root, split: "test" }), { name: "UsageError" });
});

test("Parquet shards are read row group by row group, in source order, with row identity", async (t) => {
  if (!existsSync(LABELLED)) return t.skip("../shared/fixtures missing");
  const faces = fixtureFaces().slice(0, 18);
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rows: ImageParquetRow[] = faces.map((f, i) => ({ bytes: f.bytes, path: i === 5 ? null : f.name.split("/").pop()!, label: i % 2 }));
  rows[7] = { bytes: null, path: "lost.png", label: 1 };
  await makeImageParquet({ rows: rows.slice(0, 10), rowGroupSize: 4, file: join(root, "data", "train-00000-of-00002-x.parquet") });
  await makeImageParquet({ rows: rows.slice(10), rowGroupSize: 4, file: join(root, "data", "train-00001-of-00002-y.parquet") });

  // Watch every byte range parquet-wasm asks for: bounded memory means no read spans the data of
  // more than one row group (the footer read aside).
  const reads: { file: string; start: number; end: number }[] = [];
  const onRead = (file: string, start: number, end: number) => reads.push({ file, start, end });
  const files = await selectSplitShards({ snapshotDir: root, split: "train" });
  const source = await openParquetImages({ files, passThrough: ["label"], onRead });
  assert.equal(source.total, 18);
  reads.length = 0;
  const got: SourceImage[] = [];
  for await (const image of source.images()) got.push(image);

  assert.deepEqual(
    got.map((g) => [g.row, g.fileName, sha(g.bytes), g.extra.label]),
    rows.map((r, i) => [
      i,
      r.path ?? (i === 5 ? "data/train-00000-of-00002-x.parquet#5" : "?"),
      sha(r.bytes ?? undefined),
      i % 2 === 0 && i !== 7 ? 0 : 1,
    ]),
  );
  assert.match(got[7]?.problem ?? "", /row 7 of data\/train-00000-of-00002-x.parquet has no image bytes/);

  assert.deepEqual([...new Set(reads.map((r) => r.file))], files, "the reads of both shards were seen");
  const largestRead = Math.max(...reads.map((r) => r.end - r.start));
  const sizeOf = (file: string) => readFileSync(file).length;
  const biggestShard = Math.max(...files.map(sizeOf));
  const fourImages = Math.max(...[0, 4, 8, 12].map((s) => faces.slice(s, s + 4).reduce((n, f) => n + f.bytes.length, 0)));
  assert.ok(largestRead <= fourImages + 4096, `largest read ${largestRead} B > one row group (~${fourImages} B)`);
  assert.ok(largestRead < biggestShard / 2, `largest read ${largestRead} B vs shard ${biggestShard} B`);
});

test("a missing column is a usage error naming the file", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const file = join(root, "data", "train-00000-of-00001.parquet");
  await makeImageParquet({ rows: [{ bytes: new Uint8Array([1]), path: "a.png" }], file });
  await assert.rejects(openParquetImages({ files: [file], passThrough: ["caption"] }), (e: Error) => {
    assert.equal(e.name, "UsageError");
    assert.ok(e.message.includes(file) && e.message.includes('"caption"'));
    return true;
  });
});

/** Writes an arbitrary table as Parquet (the image column of a wrong type, or plain binary). */
async function writeTable(file: string, columns: Record<string, Vector>): Promise<void> {
  const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(new Table(columns), "stream")));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

/**
 * Byte offset of row group `group`'s first column chunk: parquet-wasm writes "PAR1" and then the
 * column chunks back to back, each `compressedSize` long (page headers included).
 */
async function rowGroupOffset(file: string, group: number): Promise<number> {
  const shard = await ParquetFile.fromFile(await openAsBlob(file));
  try {
    let offset = 4;
    for (let g = 0; g < group; g++) for (const column of shard.metadata().rowGroup(g).columns()) offset += Number(column.compressedSize());
    return offset;
  } finally {
    shard.free();
  }
}

async function pngOf(i: number): Promise<Uint8Array> {
  const png = await sharp({ create: { width: 20 + i, height: 12, channels: 3, background: { r: i * 20, g: 90, b: 40 } } }).png().toBuffer();
  return new Uint8Array(png);
}

async function twelveRows(): Promise<ImageParquetRow[]> {
  return Promise.all(Array.from({ length: 12 }, async (_, i) => ({ bytes: await pngOf(i), path: `img${i}.png`, label: i })));
}

async function readAll(source: ImageSource, got: SourceImage[] = []): Promise<SourceImage[]> {
  for await (const image of source.images()) got.push(image);
  return got;
}

const EXPECTED = "expected an image struct {bytes: binary, path: string} (or binary)";

test("an image column of the wrong type is one usage error naming the file, the column and its type", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const cases: [string, Record<string, Vector>, string][] = [
    ["string", { image: vectorFromArray(["a.png", "b.png"], new Utf8()) }, "string"],
    ["int", { image: vectorFromArray([1n, 2n], new Int64()), label: vectorFromArray([0n, 1n], new Int64()) }, "int64"],
    [
      "struct-of-strings",
      { image: vectorFromArray([{ bytes: "x", path: "a.png" }], new Struct([new Field("bytes", new Utf8(), true), new Field("path", new Utf8(), true)])) },
      "struct<bytes: string, path: string>",
    ],
  ];
  for (const [name, columns, typeName] of cases) {
    const file = join(root, name, "data", "train-00000-of-00001.parquet");
    await writeTable(file, columns);
    await assert.rejects(openParquetImages({ files: [file] }), (e: Error) => {
      assert.equal(e.name, "UsageError");
      assert.equal(e.message, `${file}: column "image" is ${typeName}, ${EXPECTED}`);
      return true;
    });
  }
});

test("a missing image column lists the columns there are; a plain binary image column is read", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const picture = join(root, "picture", "data", "train-00000-of-00001.parquet");
  await writeTable(picture, { picture: vectorFromArray([await pngOf(1)], new Binary()), label: vectorFromArray([3n], new Int64()) });
  await assert.rejects(openParquetImages({ files: [picture] }), {
    name: "UsageError",
    message: `${picture}: no column "image" (columns: picture, label)`,
  });

  const binary = join(root, "binary", "data", "train-00000-of-00001.parquet");
  const images = [await pngOf(1), await pngOf(2)];
  await writeTable(binary, { image: vectorFromArray(images, new Binary()) });
  const got = await readAll(await openParquetImages({ files: [binary] }));
  assert.deepEqual(got.map((g) => [g.fileName, sha(g.bytes)]), [
    ["data/train-00000-of-00001.parquet#0", sha(images[0])],
    ["data/train-00000-of-00001.parquet#1", sha(images[1])],
  ]);
});

test("a corrupt page stops the read with one error naming the file and row group; the process reads on", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rows = await twelveRows();
  const good = join(root, "good", "data", "train-00000-of-00001.parquet");
  const bytes = await makeImageParquet({ rows, rowGroupSize: 4, file: good });

  // The page header at the start of row group 2 (of 3) flipped: parquet-wasm traps ("unreachable").
  const corrupt = join(root, "corrupt", "data", "train-00000-of-00001.parquet");
  const damaged = bytes.slice();
  const offset = await rowGroupOffset(good, 1);
  for (let i = offset; i < offset + 6; i++) damaged[i] = damaged[i]! ^ 0xff;
  await mkdir(dirname(corrupt), { recursive: true });
  await writeFile(corrupt, damaged);

  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  t.after(() => process.off("uncaughtException", onUncaught));

  const source = await openParquetImages({ files: [corrupt], passThrough: ["label"] });
  assert.equal(source.total, 12, "the footer is intact");
  const got: SourceImage[] = [];
  await assert.rejects(readAll(source, got), (e: Error) => {
    assert.ok(e instanceof RuntimeError, `${e.name}: ${e.message}`);
    assert.equal(e.exitCode, 1);
    assert.equal(e.message, `${corrupt}: row group 2 of 3 (shard rows 4-7) cannot be read: corrupt data, the Parquet decoder crashed (wasm trap "unreachable")`);
    assert.ok(!/RuntimeError: unreachable/.test(String(e)));
    return true;
  });
  assert.deepEqual(got.map((g) => g.extra.label), [0, 1, 2, 3], "the rows before the bad row group came through");

  // Nothing is left broken: the same process reads a good shard, and the bad one fails the same way again.
  const again = await readAll(await openParquetImages({ files: [good], passThrough: ["label"] }));
  assert.deepEqual(again.map((g) => [g.fileName, sha(g.bytes)]), rows.map((r) => [r.path, sha(r.bytes!)]));
  await assert.rejects(readAll(await openParquetImages({ files: [corrupt, good] })), /row group 2 of 3 \(shard rows 4-7\) cannot be read/);
  assert.deepEqual(uncaught, [], "no uncaught exception");
});

test("a zeroed row group, a truncated file and a broken footer each name the file", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "idc-snap-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const good = join(root, "good.parquet");
  const bytes = await makeImageParquet({ rows: await twelveRows(), rowGroupSize: 4, file: good });
  const write = async (name: string, content: Uint8Array) => {
    const file = join(root, name, "data", "train-00000-of-00001.parquet");
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    return file;
  };

  // Row group 3's data overwritten with zeros, footer intact.
  const zeroed = bytes.slice();
  zeroed.fill(0, await rowGroupOffset(good, 2), await rowGroupOffset(good, 3));
  const zeroedFile = await write("zeroed", zeroed);
  const got: SourceImage[] = [];
  await assert.rejects(readAll(await openParquetImages({ files: [zeroedFile] }), got), (e: Error) => {
    assert.ok(e instanceof RuntimeError, `${e.name}: ${e.message}`);
    assert.match(e.message, new RegExp(`^${escape(zeroedFile)}: row group 3 of 3 \\(shard rows 8-11\\) cannot be read: \\S`));
    assert.ok(!/RuntimeError: unreachable/.test(e.message));
    return true;
  });
  assert.equal(got.length, 8);

  // A download cut short, and a footer overwritten: the file is not a Parquet file at all.
  const truncated = await write("truncated", bytes.subarray(0, bytes.length - 40));
  const footer = bytes.slice();
  footer.fill(0x7f, footer.length - 60, footer.length - 8);
  const badFooter = await write("footer", footer);
  for (const file of [truncated, badFooter]) {
    await assert.rejects(openParquetImages({ files: [file] }), (e: Error) => {
      assert.equal(e.name, "UsageError");
      assert.match(e.message, new RegExp(`^${escape(file)} is not a readable Parquet file: \\S`));
      return true;
    });
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
