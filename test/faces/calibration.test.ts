// Session calibration (src/faces/calibrate-session.ts) with the real fixture models: what it
// measures, what it caches and where, and that the options it picks never change an embedding.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setLogSink } from "../../src/common/logger.ts";
import { ArcFaceRecognizer, FaceEngine, calibrateSession, openSession, threadCandidates, type SessionChoice } from "../../src/faces/index.ts";
import { MISSING, decode, fixturesPresent, labelledFaces, mobilefacenetSpec, models, yunetSpec } from "./fixtures.ts";

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "idc-calibration-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** calibrateSession on a model, counting the sessions it opens. */
async function calibrate(modelPath: string, probeShape: number[], extra: { mode?: "auto" | "redo" | "skip"; device?: string; batchCandidates?: number[]; cacheFile: string }) {
  const opened: SessionChoice[] = [];
  const result = await calibrateSession({
    modelPath,
    device: extra.device ?? "cpu",
    dtype: "fp32",
    probeShape,
    batchCandidates: extra.batchCandidates ?? [1],
    mode: extra.mode ?? "auto",
    cacheFile: extra.cacheFile,
    open: (choice) => {
      opened.push(choice);
      return openSession(modelPath, "cpu", "fp32", choice);
    },
  });
  await result?.session.release();
  return { result, opened };
}

test("calibration measures every option once, caches the winner by model SHA-256 and CPU, and reuses it", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const cacheFile = join(await tempDir(t), "session-calibration.json");
  const shape = [1, 3, 112, 112];
  const first = await calibrate(models.mobilefacenet, shape, { cacheFile });
  const options = 2 * threadCandidates().length;
  assert.equal(first.opened.length, options, "graph optimisation with and without NCHWc x thread counts");
  assert.ok(first.result?.measured);
  assert.ok(first.result!.msPerInput > 0);
  assert.ok(first.opened.some((c) => c.optimization === "all-without-nchwc") && first.opened.some((c) => c.optimization === "all"));

  const cache = JSON.parse(await readFile(cacheFile, "utf8")) as { entries: Record<string, { choice: SessionChoice; candidates: unknown[] }> };
  const [key, entry] = Object.entries(cache.entries)[0]!;
  assert.match(key, /87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581/, "keyed by the model's SHA-256");
  assert.match(key, /"device":"cpu"/);
  assert.match(key, /"cpu":/);
  assert.equal(entry.candidates.length, options);
  assert.deepEqual(entry.choice, first.result!.choice);

  const again = await calibrate(models.mobilefacenet, shape, { cacheFile });
  assert.equal(again.result?.measured, false, "the second load reads the cache");
  assert.deepEqual(again.opened, [first.result!.choice], "and opens one session, with the cached options");

  const redo = await calibrate(models.mobilefacenet, shape, { cacheFile, mode: "redo" });
  assert.equal(redo.result?.measured, true);
  assert.equal(redo.opened.length, options);

  // Another model is another entry; the first stays.
  await calibrate(models.yunet, [1, 3, 640, 640], { cacheFile });
  assert.equal(Object.keys((JSON.parse(await readFile(cacheFile, "utf8")) as typeof cache).entries).length, 2);
});

test("skip and GPU providers measure nothing; a damaged or unwritable cache only costs a new measurement", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const dir = await tempDir(t);
  const cacheFile = join(dir, "session-calibration.json");
  const shape = [1, 3, 112, 112];
  assert.deepEqual(await calibrate(models.mobilefacenet, shape, { cacheFile, mode: "skip" }), { result: undefined, opened: [] });
  assert.deepEqual(await calibrate(models.mobilefacenet, shape, { cacheFile, device: "cuda" }), { result: undefined, opened: [] });

  await writeFile(cacheFile, '{"version": 1, "entries": {"trunc');
  const damaged = await calibrate(models.mobilefacenet, shape, { cacheFile });
  assert.equal(damaged.result?.measured, true);
  assert.ok(JSON.parse(await readFile(cacheFile, "utf8")).entries, "rewritten as valid JSON");

  // The cache's folder is a file: the session still comes back, with a warning naming the path.
  const blocker = join(dir, "not-a-folder");
  await writeFile(blocker, "");
  const warnings: string[] = [];
  const restore = setLogSink((line) => warnings.push(line));
  t.after(() => restore());
  const unwritable = await calibrate(models.mobilefacenet, shape, { cacheFile: join(blocker, "session-calibration.json") });
  assert.equal(unwritable.result?.measured, true);
  assert.ok(warnings.some((w) => w.includes("could not save the calibration") && w.includes(blocker)), warnings.join("\n"));
});

test("a dynamic-batch model gets its batch size measured too, after the options", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const cacheFile = join(await tempDir(t), "session-calibration.json");
  // YuNet's dynamic export: [N, 3, H, W].
  const { result, opened } = await calibrate(models.yunetDynamic, [1, 3, 160, 160], { cacheFile, batchCandidates: [1, 4] });
  const options = 2 * threadCandidates().length;
  assert.ok(opened.slice(0, options).every((c) => c.batch === 1), "options are compared at the smallest batch");
  assert.equal(opened.length, options + 1);
  assert.equal(opened[options]!.batch, 4);
  assert.ok([1, 4].includes(result!.choice.batch));
});

test("the options calibration picks do not change embeddings or the faces found", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const dir = await tempDir(t);
  const previous = process.env.IDCLUSTERS_CACHE_DIR;
  process.env.IDCLUSTERS_CACHE_DIR = dir;
  t.after(() => (previous === undefined ? delete process.env.IDCLUSTERS_CACHE_DIR : (process.env.IDCLUSTERS_CACHE_DIR = previous)));
  const images = await Promise.all(labelledFaces().filter((_, i) => i % 4 === 0).map((f) => decode(f.path)));

  const plain = await FaceEngine.create({ detector: yunetSpec, recognizer: mobilefacenetSpec, device: "cpu", calibrate: "skip" });
  const calibrated = await FaceEngine.create({ detector: yunetSpec, recognizer: mobilefacenetSpec, device: "cpu", calibrate: "auto" });
  const [a, b] = [await plain.process(images), await calibrated.process(images)];
  await Promise.all([plain.dispose(), calibrated.dispose()]);
  assert.ok(JSON.parse(await readFile(join(dir, "session-calibration.json"), "utf8")).entries, "auto wrote IDCLUSTERS_CACHE_DIR/session-calibration.json");
  a.forEach((r, i) => {
    assert.equal(r.status, "ok");
    assert.deepEqual(b[i]!.face!.box, r.face!.box, `image ${i}: same face`);
    let dot = 0;
    for (let k = 0; k < r.embedding!.length; k++) dot += r.embedding![k]! * b[i]!.embedding![k]!;
    assert.ok(dot >= 0.9999, `image ${i}: cosine ${dot}`);
  });

  // Every candidate the recognizer could be given, against onnxruntime's defaults.
  const reference = await ArcFaceRecognizer.create({ spec: mobilefacenetSpec, device: "cpu", calibrate: "skip" });
  const engine = await FaceEngine.create({ detector: yunetSpec, recognizer: mobilefacenetSpec, device: "cpu", calibrate: "skip", keepCrops: true });
  const faces = (await engine.process(images)).map((r) => r.crop!);
  await engine.dispose();
  const expected = await reference.embed(faces);
  await reference.dispose();
  for (const optimization of ["all", "all-without-nchwc"] as const) {
    for (const threads of threadCandidates()) {
      const session = await openSession(models.mobilefacenet, "cpu", "fp32", { optimization, threads, batch: 1 });
      const input = session.inputNames[0]!;
      const { Tensor } = await import("onnxruntime-node");
      for (const [i, crop] of faces.entries()) {
        const blob = new Float32Array(3 * 112 * 112);
        for (let p = 0; p < 112 * 112; p++) for (let c = 0; c < 3; c++) blob[c * 112 * 112 + p] = (crop.data[p * 3 + c]! - 127) / 128;
        const out = (await session.run({ [input]: new Tensor("float32", blob, [1, 3, 112, 112]) }))[session.outputNames[0]!]!.data as Float32Array;
        const norm = Math.hypot(...out);
        let dot = 0;
        for (let k = 0; k < out.length; k++) dot += (out[k]! / norm) * expected[i]![k]!;
        assert.ok(dot >= 0.9999, `${optimization}, ${threads} threads, crop ${i}: cosine ${dot}`);
      }
      await session.release();
    }
  }
});
