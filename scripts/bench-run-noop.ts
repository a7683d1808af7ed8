/**
 * `npm run bench:run-noop`: issue 6's "unchanged inputs produce no commit and take under 10 s on a
 * cached 28k run". Builds a 28,000-row source shaped like jxie/celeba-hq in the local Hub
 * emulator, fills the embed cache with structured synthetic embeddings (what a previous run would
 * have left there; computing 28k real embeddings takes ~10 min on 2 cores and is not what is
 * measured), publishes once with `idclusters run --push`, then times the rerun with the same
 * inputs, which must publish nothing.
 */
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/index.ts";
import { EmbedCache, fingerprintOf } from "../src/embed/index.ts";
import { planFromConfig } from "../src/pipeline/embed-plan-from-config.ts";
import { pullReleaseInputs } from "../src/pipeline/pull-inputs.ts";
import { startHubEmulator } from "../test/hub-emulator/index.ts";
import { makeImageParquet } from "../test/support/make-image-parquet.ts";
import { runCli } from "../test/support/run-cli.ts";
import { createHash } from "node:crypto";
import sharp from "sharp";
import { mulberry32 } from "../src/common/seeded-random.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 28_000);
const DIM = 512;
const TOKEN = "hf_benchRunNoopToken0000000000";
const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../shared/fixtures", import.meta.url));
const MODELS = join(FIXTURES, "models");

if (!existsSync(MODELS)) {
  console.log("bench:run-noop skipped: ../shared/fixtures missing");
  process.exit(0);
}


/** A valid JPEG made distinct per row by a comment segment (the pixels do not matter here). */
function jpegFor(base: Uint8Array, row: number): Uint8Array {
  const text = Buffer.from(`row ${row}`);
  const segment = Buffer.concat([Buffer.from([0xff, 0xfe, 0, text.length + 2]), text]);
  return Buffer.concat([base.subarray(0, 2), segment, base.subarray(2)]);
}

const root = await mkdtemp(join(tmpdir(), "idclusters-bench-run-"));
const hub = await startHubEmulator({ storage: join(root, "hub"), pageSize: 1000 });
try {
  console.log(`bench:run-noop  ${new Date().toISOString()}  cpu: ${cpus()[0]?.model.trim()}, ${cpus().length} cores  load: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  // ~4 KB per image: 28k rows stay ~110 MB, like a 512 px release scaled down 15x in bytes.
  const base = new Uint8Array(await sharp(join(FIXTURES, "faces", "labelled", "amy", "amy1.png")).resize(112, 112).jpeg({ quality: 90 }).toBuffer());
  const shards = 2;
  const files: Record<string, Uint8Array> = {};
  for (let s = 0; s < shards; s++) {
    const from = Math.floor((s * ROWS) / shards);
    const to = Math.floor(((s + 1) * ROWS) / shards);
    const rows = [];
    for (let r = from; r < to; r++) rows.push({ bytes: jpegFor(base, r), path: `${String(r).padStart(5, "0")}.jpg`, label: r % 2 });
    const file = join(root, `shard-${s}.parquet`);
    await makeImageParquet({ rows, file, rowGroupSize: 100 });
    files[`data/train-${String(s).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}-abc.parquet`] = new Uint8Array(await readFile(file));
  }
  const source = await hub.seed({ repo: "jxie/celeba-hq", files });
  const detector = await hub.seed({ repo: "opencv/yunet", type: "model", files: { "yunet.onnx": await readFile(join(MODELS, "yunet_n_dynamic.onnx")) } });
  const recognizer = await hub.seed({ repo: "me/mfn", type: "model", files: { "mfn.onnx": await readFile(join(MODELS, "mobilefacenet_arcface_512.onnx")) } });
  const configFile = join(root, "config.yaml");
  await writeFile(
    configFile,
    `name: bench_noop
source: { repo: jxie/celeba-hq, revision: ${source}, split: train, pass_through: [label] }
models:
  detector: { kind: yunet, repo: opencv/yunet, file: yunet.onnx, revision: ${detector}, input_size: 320 }
  recognizer: { repo: me/mfn, file: mfn.onnx, revision: ${recognizer} }
faces: { device: cpu }
images: { transform: keep }
clustering: { eps: 0.35, min_samples: 2, noise: singleton, id_policy: sklearn-order }
release: { target: me/bench-release }
`,
  );
  const work = join(root, "work");
  const hubArgs = ["--hub-url", hub.url, "--cache-dir", join(root, "hf-cache"), "--work-dir", work];

  // Warm the embed cache as a finished earlier run would have: identities of 1-6 images whose
  // members are 0.6-0.9 similar to their centre.
  const config = await loadConfig({ file: configFile, workDir: work });
  const plan = await planFromConfig(config, await pullReleaseInputs(config, { hubUrl: hub.url, cacheDir: join(root, "hf-cache") }));
  const cache = await EmbedCache.open({ root: plan.cacheRoot, fingerprint: await fingerprintOf(plan) });
  const rand = mulberry32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  let centre = new Float32Array(DIM);
  let left = 0;
  let batch: { imageSha256: string; record: import("../src/embed/index.ts").EmbedRecord }[] = [];
  for await (const image of plan.source.images()) {
    if (left === 0) {
      centre = Float32Array.from({ length: DIM }, gauss);
      left = 1 + Math.floor(rand() * 6);
    }
    left--;
    const noise = 0.5 + rand() * 0.6;
    const v = Float32Array.from(centre, (c) => c + noise * gauss());
    const norm = Math.hypot(...v);
    for (let i = 0; i < DIM; i++) v[i]! /= norm;
    batch.push({
      imageSha256: createHash("sha256").update(image.bytes!).digest("hex"),
      record: { status: "ok", facesFound: 1, score: 0.9, box: [10, 10, 90, 90], landmarks: [[30, 40], [70, 40], [50, 60], [35, 75], [65, 75]], embedding: v },
    });
    if (batch.length === 1000) {
      await cache.putBatch(batch);
      batch = [];
    }
  }
  if (batch.length) await cache.putBatch(batch);

  const run = async (label: string) => {
    const started = process.hrtime.bigint();
    const result = await runCli(["run", "--config", configFile, ...hubArgs, "--push", "--json", "--quiet"], {
      env: { HF_TOKEN: TOKEN },
      timeoutMs: 1_200_000,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.code !== 0) throw new Error(`${label} failed (${result.code ?? result.signal}):\n${result.stderr}`);
    return { seconds, summary: JSON.parse(result.stdout) };
  };
  const commits = async () => (await hub.commits("me/bench-release")).length;
  const first = await run("first run");
  const afterFirst = await commits();
  console.log(`first run (cluster, export, card, push of ${ROWS} rows; embeddings cached): ${first.seconds.toFixed(1)} s, ${afterFirst} commit(s) on the target`);
  for (let i = 1; i <= 2; i++) {
    const again = await run(`rerun ${i}`);
    const after = await commits();
    console.log(
      `rerun ${i} with unchanged inputs: ${again.seconds.toFixed(2)} s (goal < 10 s), new commits: ${after - afterFirst} (must be 0); ` +
        `load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    );
    if (after !== afterFirst) throw new Error("an unchanged rerun made a commit");
  }
} finally {
  await hub.close();
  await rm(root, { recursive: true, force: true });
}
