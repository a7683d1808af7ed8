/**
 * `idclusters embed` end to end with the real face engine and the fixture models (YuNet +
 * MobileFaceNet, small and fast on CPU): bad inputs are reported and the run completes, EXIF
 * orientation is honoured, Parquet snapshots and folders give the same embeddings, and a run
 * killed with SIGKILL resumes to byte-identical outputs.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { parseNpy } from "../../src/common/npy.ts";
import { makeImageParquet } from "../support/make-image-parquet.ts";
import { CLI_PATH, runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const LABELLED = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const missing = !existsSync(join(MODELS, "yunet_n_dynamic.onnx")) || !existsSync(LABELLED);

const MODEL_ARGS = [
  "--detector", `yunet=${join(MODELS, "yunet_n_dynamic.onnx")}`,
  "--det-size", "320",
  "--recognizer", join(MODELS, "mobilefacenet_arcface_512.onnx"),
  "--device", "cpu",
];

let root = "";
const PEOPLE = ["amy", "howard", "penny", "raj"];

interface IndexLine {
  row: number;
  file_name: string;
  status: string;
  score: number | null;
  box: number[] | null;
  landmarks: number[][] | null;
  embedding_row: number | null;
  reason?: string;
}

async function readIndex(path: string): Promise<IndexLine[]> {
  return (await readFile(path, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as IndexLine);
}

function embeddingRow(npy: ReturnType<typeof parseNpy>, i: number): Float32Array {
  const d = npy.shape[1]!;
  return (npy.data as Float32Array).slice(i * d, (i + 1) * d);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

before(async () => {
  if (missing) return;
  root = await mkdtemp(join(tmpdir(), "idc-embed-cli-"));
  // A folder of real faces (20: 4 people x 5), an EXIF-rotated face, a faceless image and every kind of bad input.
  const faces = join(root, "faces");
  for (const person of PEOPLE) {
    await mkdir(join(faces, person), { recursive: true });
    for (let i = 1; i <= 5; i++) await copyFile(join(LABELLED, person, `${person}${i}.png`), join(faces, person, `${person}${i}.png`));
  }
  const bad = join(faces, "zz-bad");
  await mkdir(bad);
  const jpeg = await sharp(join(LABELLED, "amy", "amy1.png")).jpeg({ quality: 95 }).toBuffer();
  const corrupt = Buffer.from(jpeg);
  corrupt.fill(0x5a, 3, 300);
  await writeFile(join(bad, "corrupt.jpg"), corrupt);
  await writeFile(join(bad, "truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(join(bad, "zero.png"), new Uint8Array(0));
  await writeFile(join(bad, "notes.png"), "not an image, just text\n");
  // The same face stored rotated with EXIF orientation 6: must embed like the upright original.
  const rotated = await sharp(join(LABELLED, "penny", "penny1.png")).rotate(-90).jpeg({ quality: 98 }).withMetadata({ orientation: 6 }).toBuffer();
  await writeFile(join(faces, "zz-exif-penny1.jpg"), rotated);
  await writeFile(join(faces, "zz-upright-penny1.jpg"), await sharp(join(LABELLED, "penny", "penny1.png")).jpeg({ quality: 98 }).toBuffer());
  // A perfectly good image without a face.
  await writeFile(join(faces, "zz-wall.png"), await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 120, g: 130, b: 140 } } }).png().toBuffer());
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test("embed a folder: bad inputs are reported, the run completes, EXIF rotation is honoured", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const out = join(root, "run-folder");
  const result = await runCli([
    "embed", "--images", join(root, "faces"), ...MODEL_ARGS, "--batch-size", "8", "--decode-workers", "1",
    "--out", join(out, "emb.npy"), "--index-out", join(out, "index.jsonl"), "--dump-crops", join(out, "crops"), "--json",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.deepEqual([summary.rows, summary.ok, summary.noFace, summary.errors], [27, 22, 1, 4]);
  const index = await readIndex(join(out, "index.jsonl"));
  assert.deepEqual(index.map((r) => r.row), [...index.keys()]);
  const byName = new Map(index.map((r) => [r.file_name, r]));
  for (const [name, reason] of [
    ["zz-bad/corrupt.jpg", /jpeg cannot be decoded/],
    ["zz-bad/truncated.jpg", /jpeg cannot be decoded/],
    ["zz-bad/zero.png", /empty file/],
    ["zz-bad/notes.png", /not an image/],
  ] as const) {
    assert.equal(byName.get(name)?.status, "error", name);
    assert.match(byName.get(name)?.reason ?? "", reason);
    assert.match(result.stderr, new RegExp(`warning: row \\d+ \\(${name.replace(".", "\\.")}\\)`));
  }
  assert.deepEqual(
    [byName.get("zz-wall.png")?.status, byName.get("zz-wall.png")?.reason, byName.get("zz-wall.png")?.embedding_row],
    ["no_face", "no face found", null],
  );
  assert.match(result.stderr, /warning: row \d+ \(zz-wall\.png\): no face found/);
  for (const person of PEOPLE) {
    for (let i = 1; i <= 5; i++) {
      const line = byName.get(`${person}/${person}${i}.png`);
      assert.equal(line?.status, "ok", `${person}${i}`);
      assert.equal(line?.landmarks?.length, 5);
    }
  }

  const npy = parseNpy(await readFile(join(out, "emb.npy")));
  assert.equal(npy.dtype, "float32");
  assert.deepEqual(npy.shape, [22, 512]);
  const exif = byName.get("zz-exif-penny1.jpg")!;
  const upright = byName.get("zz-upright-penny1.jpg")!;
  const similarity = cosine(embeddingRow(npy, exif.embedding_row!), embeddingRow(npy, upright.embedding_row!));
  assert.ok(similarity > 0.99, `EXIF-rotated copy cosine ${similarity}`);
  // Upright box: the face sits in the 150x150 image the right way up, as in the upright copy.
  assert.ok(Math.abs(exif.box![0]! - upright.box![0]!) < 4 && Math.abs(exif.box![1]! - upright.box![1]!) < 4, `${exif.box} vs ${upright.box}`);

  const crops = (await readdir(join(out, "crops"))).sort();
  assert.equal(crops.length, 22);
  assert.equal(crops[0], "000000-amy1.png");
  const meta = await sharp(join(out, "crops", crops[0]!)).metadata();
  assert.deepEqual([meta.width, meta.height], [112, 112]);
});

test("a Parquet snapshot read row group by row group gives the folder's embeddings, in source order", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const snapshot = join(root, "snapshot");
  const names = PEOPLE.flatMap((p) => [1, 2, 3].map((i) => `${p}/${p}${i}.png`));
  const rows = await Promise.all(
    names.map(async (name, i) => ({ bytes: new Uint8Array(await readFile(join(LABELLED, name))), path: name.split("/")[1]!, label: i % 2 })),
  );
  await makeImageParquet({ rows: rows.slice(0, 7), rowGroupSize: 3, file: join(snapshot, "data", "train-00000-of-00002-abc.parquet") });
  await makeImageParquet({ rows: rows.slice(7), rowGroupSize: 3, file: join(snapshot, "data", "train-00001-of-00002-def.parquet") });
  const out = join(root, "run-parquet");
  const result = await runCli([
    "embed", "--images", snapshot, ...MODEL_ARGS, "--batch-size", "5",
    "--out", join(out, "emb.npy"), "--index-out", join(out, "index.jsonl"),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const index = await readIndex(join(out, "index.jsonl"));
  assert.deepEqual(index.map((r) => r.file_name), rows.map((r) => r.path));
  assert.ok(index.every((r) => r.status === "ok"));

  // The same bytes in the folder run embed to the same vector.
  const folderIndex = await readIndex(join(root, "run-folder", "index.jsonl"));
  const folderNpy = parseNpy(await readFile(join(root, "run-folder", "emb.npy")));
  const npy = parseNpy(await readFile(join(out, "emb.npy")));
  names.forEach((name, i) => {
    const folderRow = folderIndex.find((r) => r.file_name === name)!.embedding_row!;
    assert.deepEqual(embeddingRow(npy, i), embeddingRow(folderNpy, folderRow), name);
  });
});

test("SIGKILL mid-run, then a rerun: resumes after the stored batches, byte-identical outputs", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const faces = join(root, "faces");
  const args = (out: string) => [
    "embed", "--images", faces, ...MODEL_ARGS, "--batch-size", "3", "--no-face", "keep", "--decode-workers", "2",
    "--out", join(out, "embeddings.npy"), "--index-out", join(out, "embeddings-index.parquet"), "--work-dir", join(out, "work"),
  ];
  const clean = join(root, "run-clean");
  const cleanRun = await runCli(args(clean));
  assert.equal(cleanRun.code, 0, cleanRun.stderr);

  const killed = join(root, "run-killed");
  const batchFiles = async () => {
    const base = join(killed, "work", "cache", "embed");
    if (!existsSync(base)) return 0;
    let n = 0;
    for (const dir of await readdir(base)) n += (await readdir(join(base, dir))).filter((f) => f.startsWith("batch-")).length;
    return n;
  };
  const child = spawn(process.execPath, [CLI_PATH, ...args(killed)], { stdio: "ignore" });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  // 23 decodable images in batches of 3: 8 batches. Kill once 2 are stored, well before the end.
  for (let waited = 0; (await batchFiles()) < 2; waited += 20) {
    if (waited > 60_000) throw new Error("the embed run stored no batches within 60 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
  const stored = await batchFiles();
  assert.ok(stored >= 2 && stored < 8, `${stored} batches stored when killed`);
  assert.ok(!existsSync(join(killed, "embeddings.npy")), "no output before the end");

  const rerun = await runCli([...args(killed), "--json"]);
  assert.equal(rerun.code, 0, rerun.stderr);
  const summary = JSON.parse(rerun.stdout);
  assert.equal(summary.cached, stored * 3, "every stored batch is reused");
  assert.equal(summary.computed, 23 - stored * 3, "nothing stored is recomputed");
  for (const file of ["embeddings.npy", "embeddings-index.parquet"]) {
    assert.deepEqual(await readFile(join(killed, file)), await readFile(join(clean, file)), `${file} differs`);
  }
  assert.deepEqual(parseNpy(await readFile(join(killed, "embeddings.npy"))).shape, [27, 512]);
});

test("embed --config: outputs in the work dir, the release's resize applied before embedding", async (t) => {
  if (missing) return t.skip("../shared/fixtures missing");
  const config = join(root, "config.yaml");
  await writeFile(
    config,
    [
      "name: embed_test",
      `source: { path: ${JSON.stringify(join(root, "faces"))}, format: imagefolder }`,
      "models:",
      `  detector: { kind: yunet, path: ${JSON.stringify(join(MODELS, "yunet_n_dynamic.onnx"))}, input_size: 320, score_threshold: 0.5 }`,
      `  recognizer: { path: ${JSON.stringify(join(MODELS, "mobilefacenet_arcface_512.onnx"))}, mean: 127.5, std: 127.5 }`,
      "faces: { device: cpu, batch_size: 8 }",
      "images: { transform: resize, size: 300, format: jpeg, quality: 95 }",
      "release: { target: local/embed-test }",
      "",
    ].join("\n"),
  );
  const work = join(root, "run-config");
  const result = await runCli(["embed", "--config", config, "--work-dir", work, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.embeddingsPath, join(work, "embeddings.npy"));
  assert.deepEqual([summary.rows, summary.ok, summary.errors], [27, 22, 4]);
  const index = tableFromIPC(readParquet(await readFile(join(work, "embeddings-index.parquet"))).intoIPCStream());
  assert.equal(index.numRows, 27);
  assert.equal(index.getChild("file_name")?.get(0), "amy/amy1.png");
  // Boxes are in the coordinates of the 300 px transformed image, not of the 150 px original.
  const box = Array.from(index.getChild("box")?.get(0) as Float64Array);
  assert.ok(box[2]! - box[0]! > 150, `box ${box}`);
  const [fingerprintDir] = await readdir(join(work, "cache", "embed"));
  const fingerprint = JSON.parse(await readFile(join(work, "cache", "embed", fingerprintDir!, "fingerprint.json"), "utf8"));
  assert.equal(fingerprint.preprocessing.transform.size, 300);
});

test("usage errors: missing flags, bad detector spec", async () => {
  const noFlags = await runCli(["embed", "--images", "/tmp"]);
  assert.equal(noFlags.code, 2);
  assert.match(noFlags.stderr, /--detector, --recognizer, --out/);
  const badDetector = await runCli(["embed", "--images", "/tmp", "--detector", "mtcnn=x.onnx", "--recognizer", "r.onnx", "--out", "/tmp/x.npy"]);
  assert.equal(badDetector.code, 2);
  assert.match(badDetector.stderr, /scrfd=<onnx> or yunet=<onnx>/);
});
