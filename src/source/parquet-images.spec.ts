import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, openAsBlob, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeImageParquet, type ImageParquetRow } from "../../test/support/make-image-parquet.ts";
import { openParquetImages, selectSplitShards } from "./parquet-images.ts";
import type { SourceImage } from "./image-source.ts";

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
  const openFile = async (path: string) => {
    const blob = await openAsBlob(path);
    return {
      size: blob.size,
      slice(start?: number, end?: number) {
        reads.push({ file: path, start: start ?? 0, end: end ?? blob.size });
        return blob.slice(start, end);
      },
    };
  };
  const files = await selectSplitShards({ snapshotDir: root, split: "train" });
  const source = await openParquetImages({ files, passThrough: ["label"], openFile });
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
