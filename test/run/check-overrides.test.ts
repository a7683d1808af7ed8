/**
 * `verify --config`'s check of the published cluster_id against `clustering.overrides`
 * (pipeline/check-overrides.ts) on a small hand-made work dir (embed index, DBSCAN labels) and
 * release (one shard), no model run:
 * - a source naming two images alike, the first excluded: the release's row is the second image;
 * - the check before pushing uses the decisions `run` read at its start, not the file as it is now.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeNpy } from "../../src/common/npy.ts";
import { parseConfig } from "../../src/config/index.ts";
import { encodeIndexParquet, type EmbedRow } from "../../src/embed/embed-outputs.ts";
import { readOverrides, serializeOverrides, type OverrideDecision } from "../../src/identities/index.ts";
import { checkReleaseOverrides } from "../../src/pipeline/check-overrides.ts";
import { verifyReleaseFolder } from "../../src/pipeline/verify-release-folder.ts";
import { ArrowSizeCounter, CORE_COLUMNS, type ReleaseRow } from "../../src/release/release-schema.ts";
import { writeReleaseShards } from "../../src/release/write-release-shards.ts";

const CONFIG = fileURLToPath(new URL("../../configs/fixtures-local.yaml", import.meta.url));
const sha = (letter: string) => letter.repeat(64);

/** Source rows: name, image SHA-256 (one letter), DBSCAN label. */
type SourceRow = [fileName: string, image: string, label: number];

async function workDir(dir: string, source: readonly SourceRow[]): Promise<string> {
  const work = join(dir, "work");
  await mkdir(work, { recursive: true });
  const rows: EmbedRow[] = source.map(([fileName, image], row) => ({
    row,
    fileName,
    imageSha256: sha(image),
    status: "ok",
    reason: null,
    facesFound: 1,
    score: 0.9,
    box: null,
    landmarks: null,
    embedding: null,
  }));
  await writeFile(join(work, "embeddings-index.parquet"), encodeIndexParquet(rows, "drop"));
  writeNpy(join(work, "labels-sklearn.npy"), { shape: [source.length], data: BigInt64Array.from(source, ([, , label]) => BigInt(label)) });
  return work;
}

/** A release of these rows (file name, cluster_id), one shard. */
async function release(dir: string, rows: readonly [string, number][]): Promise<string> {
  const out = join(dir, "release");
  await mkdir(out, { recursive: true });
  const sizes = new Map<number, number>();
  for (const [, id] of rows) sizes.set(id, (sizes.get(id) ?? 0) + 1);
  const records: ReleaseRow[] = rows.map(([fileName, id], i) => ({
    image: { bytes: new Uint8Array([i]), path: fileName },
    file_name: fileName,
    cluster_id: id,
    cluster_size: sizes.get(id)!,
  }));
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  records.forEach((r) => counter.add(r));
  await writeReleaseShards({ outDir: out, split: "train", columns: CORE_COLUMNS, rows: records, numRows: records.length, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 10 });
  return out;
}

const decision = (id: string, action: OverrideDecision["action"], images: string[]): OverrideDecision => ({
  id,
  action,
  images: images.map(sha),
  who: "ada",
  when: "2026-12-02T17:49:00.000Z",
  ...(action === "exclude" && { why: "not a person" }),
});

async function setUp(t: { after: (fn: () => Promise<void>) => void }, source: readonly SourceRow[], decisions: OverrideDecision[]) {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-check-overrides-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const work = await workDir(dir, source);
  const review = join(dir, "review.yaml");
  await writeFile(review, serializeOverrides({ version: 1, decisions }));
  const text = (await readFile(CONFIG, "utf8")).replace("noise: singleton", `noise: singleton\n  overrides: ${review}`);
  const config = parseConfig(text, { file: CONFIG, workDir: work });
  assert.equal(config.clustering.overrides, review);
  return { dir, work, review, config };
}

test("a source naming two images alike: with the first excluded, the release's row is the second", async (t) => {
  // x.jpg twice: the first (image a) is excluded, the second (image c) is in c's identity with d.
  const source: SourceRow[] = [
    ["x.jpg", "a", 0],
    ["b.jpg", "b", 0],
    ["x.jpg", "c", 1],
    ["d.jpg", "d", 1],
  ];
  const { dir, config } = await setUp(t, source, [decision("x-a", "exclude", ["a"])]);
  const folder = await release(dir, [
    ["b.jpg", 0],
    ["x.jpg", 1],
    ["d.jpg", 1],
  ]);
  const result = await checkReleaseOverrides({ folder, config, split: "train" });
  assert.equal(result.checked, true);
  assert.deepEqual(result.problems, []);

  // Both x.jpg in the release: the one the review keeps matches first, the other is named as excluded.
  const both = await release(join(dir, "both"), [
    ["x.jpg", 1],
    ["b.jpg", 0],
    ["x.jpg", 1],
    ["d.jpg", 1],
  ]);
  const twice = await checkReleaseOverrides({ folder: both, config, split: "train" });
  assert.deepEqual(twice.problems, ["data/train-00000-of-00001.parquet row 2 (x.jpg): is in the release, but decisions[0] (x-a) of review.yaml excluded it"]);
});

test("the check before pushing uses the decisions as run read them, not the file as it is now", async (t) => {
  const source: SourceRow[] = [
    ["a.jpg", "a", 0],
    ["b.jpg", "b", 0],
    ["c.jpg", "c", 1],
    ["d.jpg", "d", 1],
  ];
  const decisions = [decision("m-ac", "merge", ["a", "c"])];
  const { dir, review, config } = await setUp(t, source, decisions);
  const atStart = await readOverrides(review);
  const folder = await release(dir, [
    ["a.jpg", 0],
    ["b.jpg", 0],
    ["c.jpg", 0],
    ["d.jpg", 0],
  ]);
  // `idclusters review` writes a decision while the run builds: the run's release does not have it.
  await writeFile(review, serializeOverrides({ version: 1, decisions: [...decisions, decision("x-d", "exclude", ["d"])] }));
  const verified = await verifyReleaseFolder({ folder, config, overrides: atStart });
  assert.deepEqual(verified.overrides, { checked: true });
  assert.deepEqual(verified.problems.filter((p) => !p.startsWith("README.md")), []);
  // Read now, the file's new decision is what the release lacks.
  const now = await verifyReleaseFolder({ folder, config });
  assert.ok(now.problems.includes("data/train-00000-of-00001.parquet row 3 (d.jpg): is in the release, but decisions[1] (x-d) of review.yaml excluded it"), now.problems.join("\n"));
});
