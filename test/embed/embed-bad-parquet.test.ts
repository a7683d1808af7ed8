/**
 * `idclusters embed --config` on a local Parquet snapshot that is damaged or of the wrong shape:
 * one clear error naming the file (and the row group, or the column and its type), the exit code
 * of its kind, no wasm trap text, no per-row warnings, no outputs.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, openAsBlob } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { ParquetFile, Table as WasmTable, writeParquet } from "parquet-wasm";
import { makeImageParquet } from "../support/make-image-parquet.ts";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const MODELS = join(FIXTURES, "models");
const missing = !existsSync(join(MODELS, "yunet_n_dynamic.onnx")) || !existsSync(join(MODELS, "mobilefacenet_arcface_512.onnx"));

let root = "";

/** A release config whose source is the local snapshot `snapshot` (the models only get hashed). */
async function configFor(snapshot: string): Promise<string> {
  const config = join(snapshot, "..", `${snapshot.split("/").pop()}.yaml`);
  await writeFile(
    config,
    [
      "name: bad_source_test",
      `source: { path: ${JSON.stringify(snapshot)}, format: parquet }`,
      "models:",
      `  detector: { kind: yunet, path: ${JSON.stringify(join(MODELS, "yunet_n_dynamic.onnx"))}, input_size: 320, score_threshold: 0.5 }`,
      `  recognizer: { path: ${JSON.stringify(join(MODELS, "mobilefacenet_arcface_512.onnx"))}, mean: 127.5, std: 127.5 }`,
      "faces: { device: cpu, batch_size: 32 }",
      "release: { target: local/bad-source-test }",
      "",
    ].join("\n"),
  );
  return config;
}

async function rows(count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      bytes: new Uint8Array(await sharp({ create: { width: 24 + i, height: 16, channels: 3, background: { r: 10 * i, g: 80, b: 120 } } }).png().toBuffer()),
      path: `img${i}.png`,
      label: i,
    })),
  );
}

before(async () => {
  if (missing) return;
  root = await mkdtemp(join(tmpdir(), "idc-bad-parquet-"));
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function assertOneCleanError(stderr: string, expected: string): void {
  const errors = stderr.split("\n").filter((line) => line.startsWith("idclusters: "));
  assert.deepEqual(errors, [`idclusters: ${expected}`], stderr);
  assert.doesNotMatch(stderr, /RuntimeError: unreachable|^\s+at /m, "no wasm trap, no stack trace");
  assert.doesNotMatch(stderr, /warning: row|no rows to cluster/);
}

test("a corrupt page in a snapshot's second shard: exit 1, the file and row group named", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const snapshot = join(root, "corrupt");
  await makeImageParquet({ rows: await rows(4), rowGroupSize: 4, file: join(snapshot, "data", "train-00000-of-00002.parquet") });
  const second = join(snapshot, "data", "train-00001-of-00002.parquet");
  const bytes = await makeImageParquet({ rows: await rows(12), rowGroupSize: 4, file: second });
  // Flip the page header that opens row group 2: parquet-wasm traps on it. Column chunks follow
  // "PAR1" back to back, so the group starts after the first group's chunks.
  const shard = await ParquetFile.fromFile(await openAsBlob(second));
  const offset = 4 + shard.metadata().rowGroup(0).columns().reduce((n, c) => n + Number(c.compressedSize()), 0);
  shard.free();
  for (let i = offset; i < offset + 6; i++) bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(second, bytes);

  const work = join(root, "work-corrupt");
  const result = await runCli(["embed", "--config", await configFor(snapshot), "--work-dir", work]);
  assert.equal(result.code, 1, result.stderr);
  assertOneCleanError(
    result.stderr,
    `${second}: row group 2 of 3 (shard rows 4-7) cannot be read: corrupt data, the Parquet decoder crashed (wasm trap "unreachable")`,
  );
  assert.equal(result.stdout, "");
  assert.ok(!existsSync(join(work, "embeddings.npy")), "no output from a partial source");
});

test("an image column of strings: exit 2 before any row, the file, column and type named", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const snapshot = join(root, "strings");
  const file = join(snapshot, "data", "train-00000-of-00001.parquet");
  const table = new Table({ image: vectorFromArray(["a.png", "b.png", "c.png"], new Utf8()) });
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, "stream"))));

  const result = await runCli(["embed", "--config", await configFor(snapshot), "--work-dir", join(root, "work-strings")]);
  assert.equal(result.code, 2, result.stderr);
  assertOneCleanError(result.stderr, `${file}: column "image" is string, expected an image struct {bytes: binary, path: string} (or binary)`);
});
