/**
 * `npm run bench:standins [-- --device cpu|cuda|webgpu] [--quick] [--json] [--json-file F] [--no-threads] [--no-calibrate | --recalibrate] [--out DIR]`
 * `npm run bench:standins -- --probe`   (which execution providers load, and why not)
 *
 * The cost of the release's real models (SCRFD-10G-bnkps at detection size 256, ArcFace
 * IResNet-100), measured with same-architecture stand-ins (scripts/make-standin-models.ts,
 * generated into tmp/standins when missing) through the project's own classes: ArcFaceRecognizer
 * images/s at batch 1, 8, 32 (fp32, and fp16 where the provider runs it), ScrfdDetector images/s
 * at 256 on a decoded 512x512 photo (the release embeds 512 px images), alignFace and decode cost;
 * then the estimated wall time of the 27,996-image release on this machine and on a 4-core runner.
 *
 * CPU: also times the models with 1 and 2 intra-op threads (plain onnxruntime-node sessions,
 * onnxruntime's defaults otherwise: the classes' API takes no thread option) for the 4-core
 * extrapolation. GPU devices: also the cosine parity of the device's embeddings with the CPU's
 * for the same crops (the stand-in and the fixture MobileFaceNet).
 *
 * Inputs come from ../shared/fixtures (IDCLUSTERS_FIXTURES): a group photo resized to 512x512,
 * its face's landmarks from the fixture SCRFD-500M, aligned crops of the labelled faces. Without
 * the fixtures the bench uses a synthetic image and template landmarks (timings are the same:
 * random weights make the content irrelevant) and says so.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { InferenceSession } from "onnxruntime-node";
import type { RgbImage } from "../src/common/image.ts";
import { setLogLevel } from "../src/common/logger.ts";
import { ARCFACE_TEMPLATE, ArcFaceRecognizer, ScrfdDetector, alignFace, chooseFace, describeChoice } from "../src/faces/index.ts";
import type { CalibrationMode, DeviceChoice, RecognizerSpec } from "../src/faces/index.ts";
import { DEFAULT_OUT, makeStandins, type StandinManifest } from "./make-standin-models.ts";

const RELEASE_IMAGES = 27_996;
const RELEASE_SIDE = 512;
const DET_SIZE = 256;

const { values: args } = parseArgs({
  options: {
    device: { type: "string", default: "cpu" },
    out: { type: "string", default: DEFAULT_OUT },
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "json-file": { type: "string" },
    probe: { type: "boolean", default: false },
    "no-threads": { type: "boolean", default: false },
    "no-calibrate": { type: "boolean", default: false },
    recalibrate: { type: "boolean", default: false },
  },
});
const device = args.device as DeviceChoice;
if (!["cpu", "cuda", "webgpu", "auto"].includes(device)) {
  console.error(`--device must be cpu, cuda, webgpu or auto, got ${args.device}`);
  process.exit(2);
}
const quick = args.quick!;
const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../shared/fixtures", import.meta.url));
const fixture = (...parts: string[]) => join(FIXTURES, ...parts);
const fixturesPresent = existsSync(fixture("models", "scrfd_500m_bnkps.onnx")) && existsSync(fixture("faces", "group", "bbt1.jpg"));
/** Progress lines (stderr), marked so scripts/gpu-check.sh can drop them. */
const err = (line: string) => process.stderr.write(`progress: ${line}\n`);
// Progress on stderr; the library's own info lines ("calibrating ...") stay visible.
setLogLevel(process.env.IDCLUSTERS_LOG === "debug" ? "debug" : "info");

// ---------------------------------------------------------------------------------------------
// Timing

interface Timing {
  /** Median milliseconds per call (wall clock). */
  ms: number;
  /** Mean process CPU milliseconds per call (all threads): on a busy machine a single-threaded
   * call's CPU time is what its wall time would be on an idle one. */
  cpuMs: number;
  runs: number;
}

/** Median of timed calls after `warmup` untimed ones: at least `minRuns`, until `minSeconds`, at most `maxRuns`. */
async function timeRuns(fn: () => Promise<unknown> | unknown, opts: { warmup?: number; minRuns?: number; minSeconds?: number; maxRuns?: number }): Promise<Timing> {
  for (let i = 0; i < (opts.warmup ?? 1); i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (times.length < (opts.minRuns ?? 2) || (performance.now() - start) / 1000 < (opts.minSeconds ?? 0)) {
    if (times.length >= (opts.maxRuns ?? 1000)) break;
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / times.length;
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, cpuMs, runs: times.length };
}

const errorText = (error: unknown) => ((error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "").slice(0, 300);

// ---------------------------------------------------------------------------------------------
// Machine

function machine() {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" });
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(lscpu.stdout ?? "")?.[1]?.trim();
  const nvidia = spawnSync("nvidia-smi", ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], { encoding: "utf8" });
  return {
    date: new Date().toISOString(),
    cpuModel: field("Model name") ?? cpus()[0]?.model ?? "unknown",
    cpus: Number(field("CPU\\(s\\)") ?? availableParallelism()),
    coresPerSocket: field("Core\\(s\\) per socket"),
    threadsPerCore: field("Thread\\(s\\) per core"),
    sockets: field("Socket\\(s\\)"),
    avx512: /\bavx512f\b/.test(field("Flags") ?? ""),
    loadAverage: loadavg().map((v) => Number(v.toFixed(2))),
    gpu: nvidia.status === 0 ? nvidia.stdout.trim() : undefined,
    node: process.version,
    onnxruntime: (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version,
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs

async function decodeRgb(input: Buffer | string): Promise<RgbImage> {
  // As the source stage decodes: EXIF orientation, no alpha, 8-bit sRGB.
  const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

interface Inputs {
  source: string;
  /** The release-sized photo as JPEG bytes (decode cost) and decoded. */
  jpeg: Buffer;
  photo: RgbImage;
  /** Landmarks of the photo's chosen face. */
  landmarks: [number, number][];
  /** 32 aligned 112x112 crops. */
  crops: RgbImage[];
}

async function prepareInputs(): Promise<Inputs> {
  if (fixturesPresent) {
    // bbt1.jpg (1366x768, several faces) resized to 512x512 as the release's images are.
    const jpeg = await sharp(fixture("faces", "group", "bbt1.jpg")).resize(RELEASE_SIDE, RELEASE_SIDE, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer();
    const photo = await decodeRgb(jpeg);
    const det = await ScrfdDetector.create({ spec: { kind: "scrfd", modelPath: fixture("models", "scrfd_500m_bnkps.onnx"), inputSize: DET_SIZE, scoreThreshold: 0.5 }, device: "cpu" });
    try {
      const face = chooseFace(await det.detect(photo), photo.width, photo.height);
      if (!face) throw new Error("the fixture detector found no face in bbt1.jpg");
      const labels = JSON.parse(readFileSync(fixture("faces", "labelled", "labels.json"), "utf8")) as Record<string, string>;
      const crops: RgbImage[] = [];
      for (const file of Object.keys(labels)) {
        const image = await decodeRgb(fixture("faces", "labelled", file));
        const f = chooseFace(await det.detect(image), image.width, image.height);
        if (f) crops.push(alignFace(image, f.landmarks));
        if (crops.length === 32) break;
      }
      while (crops.length < 32) crops.push(crops[crops.length % Math.max(1, crops.length)]!);
      return { source: `fixtures (${FIXTURES})`, jpeg, photo, landmarks: face.landmarks, crops };
    } finally {
      await det.dispose();
    }
  }
  // No fixtures: a smooth synthetic image and the ArcFace template scaled into its centre.
  const side = RELEASE_SIDE;
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    const x = i % side;
    const y = Math.floor(i / side);
    data[3 * i] = (x * 255) / side;
    data[3 * i + 1] = (y * 255) / side;
    data[3 * i + 2] = ((x + y) * 127) / side;
  }
  const photo: RgbImage = { data, width: side, height: side };
  const jpeg = await sharp(Buffer.from(data), { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const landmarks = ARCFACE_TEMPLATE.map(([x, y]) => [x * 2 + 144, y * 2 + 144] as [number, number]);
  const crop = alignFace(photo, landmarks);
  return { source: "synthetic (fixtures missing)", jpeg, photo, landmarks, crops: Array.from({ length: 32 }, () => crop) };
}

// ---------------------------------------------------------------------------------------------
// Measurements through the project's classes

interface RecognizerResult {
  model: string;
  dtype: "fp32" | "fp16";
  provider?: string;
  loadSeconds?: number;
  /** Images/s and ms per image per batch size. */
  batches: { batch: number; imagesPerSecond: number; msPerImage: number; runs: number }[];
  skipped?: string;
  error?: string;
  /** Embeddings of the first 8 crops (for parity), not printed. */
  embeddings?: Float32Array[];
}

async function measureRecognizer(modelPath: string, dtype: "fp32" | "fp16", on: DeviceChoice, crops: RgbImage[], batches: number[], maxSecondsPerRun: number): Promise<RecognizerResult> {
  const result: RecognizerResult = { model: modelPath, dtype, batches: [] };
  const spec: RecognizerSpec = { modelPath, mean: 127.5, std: 127.5, dtype };
  let rec: ArcFaceRecognizer | undefined;
  try {
    const t0 = performance.now();
    rec = await ArcFaceRecognizer.create({ spec, device: on, batchSize: Math.max(...batches) });
    result.loadSeconds = (performance.now() - t0) / 1000;
    result.provider = rec.provider;
    for (const batch of batches) {
      const input = crops.slice(0, batch);
      // The warm-up run also tells whether the next (bigger) batch still fits the time budget.
      const t = performance.now();
      const out = await rec.embed(input);
      const first = (performance.now() - t) / 1000;
      if (batch === 8 || (batch < 8 && !result.embeddings)) result.embeddings = out.slice(0, 8);
      const timing = await timeRuns(() => rec!.embed(input), { warmup: 0, minRuns: first > 4 ? 1 : 2, minSeconds: quick ? 1 : 3, maxRuns: 40 });
      result.batches.push({ batch, imagesPerSecond: (1000 * batch) / timing.ms, msPerImage: timing.ms / batch, runs: timing.runs });
      err(`  ${dtype} batch ${batch}: ${(timing.ms / batch).toFixed(1)} ms per image (${timing.runs} runs)`);
      const next = batches[batches.indexOf(batch) + 1];
      if (next && (timing.ms / batch) * next > maxSecondsPerRun * 1000) {
        result.skipped = `batch ${batches.slice(batches.indexOf(next)).join(", ")} skipped: one run would take ~${(((timing.ms / batch) * next) / 1000).toFixed(0)} s`;
        break;
      }
    }
  } catch (error) {
    result.error = errorText(error);
  } finally {
    await rec?.dispose();
  }
  return result;
}

interface CalibratedResult {
  /** The options and batch the calibration picked (describeChoice). */
  choice?: string;
  /** Seconds for create(): calibration (first time on this machine) + load. */
  createSeconds?: number;
  batch?: number;
  imagesPerSecond?: number;
  msPerImage?: number;
  runs?: number;
  error?: string;
}

/**
 * The recognizer as the face engine creates it by default (calibrate "auto": options, threads and
 * batch measured once per model and machine, then cached): which choice it makes and its speed.
 */
async function measureCalibratedRecognizer(modelPath: string, on: DeviceChoice, crops: RgbImage[]): Promise<CalibratedResult> {
  const result: CalibratedResult = {};
  let rec: ArcFaceRecognizer | undefined;
  try {
    const t0 = performance.now();
    rec = await ArcFaceRecognizer.create({ spec: { modelPath, mean: 127.5, std: 127.5 }, device: on, batchSize: 32, calibrate: args.recalibrate ? "redo" : "auto" });
    result.createSeconds = (performance.now() - t0) / 1000;
    result.choice = describeChoice(rec.choice);
    const batch = rec.batchSize;
    const input = crops.slice(0, batch);
    const timing = await timeRuns(() => rec!.embed(input), { warmup: 1, minRuns: 1, minSeconds: quick ? 1 : 3, maxRuns: 40 });
    Object.assign(result, { batch, imagesPerSecond: (1000 * batch) / timing.ms, msPerImage: timing.ms / batch, runs: timing.runs });
    err(`  calibrated (${result.choice}): ${(timing.ms / batch).toFixed(1)} ms per image`);
  } catch (error) {
    result.error = errorText(error);
  } finally {
    await rec?.dispose();
  }
  return result;
}

interface DetectorResult {
  model: string;
  provider?: string;
  loadSeconds?: number;
  imagesPerSecond?: number;
  msPerImage?: number;
  runs?: number;
  facesFound?: number;
  blob?: string;
  error?: string;
}

async function measureDetector(modelPath: string, on: DeviceChoice, photo: RgbImage, calibrate: CalibrationMode = "skip"): Promise<DetectorResult> {
  const result: DetectorResult = { model: modelPath };
  let det: ScrfdDetector | undefined;
  try {
    const t0 = performance.now();
    det = await ScrfdDetector.create({ spec: { kind: "scrfd", modelPath, inputSize: DET_SIZE, scoreThreshold: 0.5 }, device: on, calibrate });
    result.loadSeconds = (performance.now() - t0) / 1000;
    result.provider = det.provider;
    result.blob = `${det.inputWidth}x${det.inputHeight}`;
    result.facesFound = (await det.detect(photo)).length;
    const timing = await timeRuns(() => det!.detect(photo), { warmup: 2, minRuns: 5, minSeconds: quick ? 1.5 : 4, maxRuns: 400 });
    Object.assign(result, { imagesPerSecond: 1000 / timing.ms, msPerImage: timing.ms, runs: timing.runs });
  } catch (error) {
    result.error = errorText(error);
  } finally {
    await det?.dispose();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Intra-op threads (CPU): plain onnxruntime-node sessions, onnxruntime's defaults but the thread count

/**
 * Wall and CPU ms per input of `modelPath` with 1 and with 2 intra-op threads (spinning off, as
 * the engine's calibrated sessions run; onnxruntime's defaults otherwise). The configurations are
 * timed in alternation over `rounds` rounds and the best round kept, so a burst of load from other
 * processes on a shared machine penalises neither side alone.
 */
async function threadScaling(modelPath: string, shape: number[], rounds: number): Promise<Record<number, { ms: number; cpuMs: number }>> {
  const ort = await import("onnxruntime-node");
  const size = shape.reduce((a, b) => a * b, 1);
  const input = new ort.Tensor("float32", new Float32Array(size).fill(0.25), shape);
  const sessions = new Map<number, InferenceSession>();
  const best: Record<number, { ms: number; cpuMs: number }> = {};
  try {
    for (const t of [1, 2]) sessions.set(t, await ort.InferenceSession.create(modelPath, { intraOpNumThreads: t, extra: { session: { "intra_op.allow_spinning": "0" } } }));
    for (let round = 0; round < rounds; round++) {
      for (const [t, session] of sessions) {
        const run = async () => {
          const outputs = await session.run({ [session.inputNames[0]!]: input });
          for (const o of Object.values(outputs)) o.dispose?.();
        };
        const timing = await timeRuns(run, { warmup: 1, minRuns: 2, minSeconds: quick ? 0.8 : 1.5, maxRuns: 100 });
        const perInput = { ms: timing.ms / shape[0]!, cpuMs: timing.cpuMs / shape[0]! };
        if (!best[t] || perInput.ms < best[t]!.ms) best[t] = perInput;
      }
    }
  } finally {
    for (const session of sessions.values()) await session.release();
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Providers

interface ProbeResult {
  device: string;
  /** The project's class (ScrfdDetector.create) loaded the model on the device and ran it. */
  ok: boolean;
  detail: string;
  /** onnxruntime's own diagnostics for a failure (its native log lines, Dawn's warnings). */
  diagnostics: string[];
  hint?: string;
}

/**
 * onnxruntime writes the real cause of a provider failure (which library did not load, why no
 * WebGPU adapter) to the process's stderr, not into the exception: open a session with only that
 * provider in a child process and keep those lines.
 */
function nativeDiagnostics(device: string, modelPath: string): string[] {
  const code = `import * as ort from "onnxruntime-node";
try { await ort.InferenceSession.create(${JSON.stringify(modelPath)}, { executionProviders: [${JSON.stringify(device)}], logSeverityLevel: 3 }); console.log("session ok"); }
catch (e) { console.log("exception: " + String(e && e.message || e)); }`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 120_000 });
  const text = `${child.stdout ?? ""}\n${child.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
  const lines = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const library = /Failed to load library (\S+) with error: (.+)$/.exec(line);
    if (library) {
      const [, path, why] = library;
      lines.add(`failed to load ${basename(path!)}: ${why!.startsWith(path! + ": ") ? why!.slice(path!.length + 2) : why}`);
      continue;
    }
    const adapter = /(Failed to get a WebGPU adapter: .*)$/.exec(line);
    if (adapter) lines.add(adapter[1]!);
    else if (/Couldn't load|cannot open shared object|CUDA driver|cudaError|CUDNN|insufficient/i.test(line) && !/^at /.test(line)) lines.add(line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \[[^\]]*\] /, ""));
  }
  if (lines.size === 0) {
    const exception = /^exception: (.*)$/m.exec(text)?.[1];
    if (exception) lines.add(exception.replace(/^\/onnxruntime_src\/\S+ /, ""));
    else if (/session ok/.test(text)) lines.add("a plain onnxruntime session with only this provider opens fine");
  }
  return [...lines].slice(0, 6).map((l) => l.slice(0, 300));
}

function hintFor(device: string, text: string): string | undefined {
  if (device === "cuda") {
    if (/libonnxruntime_providers_(shared|cuda)\.so/.test(text))
      return "onnxruntime-node's CUDA provider libraries are not installed (.npmrc skips them): node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12 (needs nuget.org)";
    if (/lib(cudart|cublas|cublasLt|cufft|curand)\.so/.test(text)) return "CUDA 12 runtime libraries missing from the library path (cudart, cublas, cublasLt, cufft, curand)";
    if (/libcudnn/.test(text)) return "cuDNN 9 for CUDA 12 missing from the library path";
    if (/libcuda\.so|driver/i.test(text)) return "NVIDIA driver (libcuda.so.1) missing or too old";
  }
  if (device === "webgpu") {
    if (/libvulkan\.so\.1/.test(text)) return "Vulkan loader missing: apt-get install libvulkan1 (and the NVIDIA Vulkan ICD, part of the driver's GL/Vulkan libraries)";
    if (/No supported adapters|adapter/i.test(text)) return "Vulkan loader present but no Vulkan driver for this GPU: the NVIDIA ICD (/usr/share/vulkan/icd.d/nvidia_icd.json + libGLX_nvidia.so.0) must be installed and visible";
  }
  return undefined;
}

async function probeProviders(manifest: StandinManifest | undefined): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  const modelPath = manifest ? join(manifest.dir, manifest.models.scrfd_10g_bnkps.file) : fixture("models", "scrfd_500m_bnkps.onnx");
  for (const d of ["cpu", "cuda", "webgpu"] as const) {
    try {
      const det = await ScrfdDetector.create({ spec: { kind: "scrfd", modelPath, inputSize: DET_SIZE, scoreThreshold: 0.5 }, device: d });
      out.push({ device: d, ok: true, detail: `loads and runs (${det.provider})`, diagnostics: [] });
      await det.dispose();
    } catch (error) {
      // Drop "cannot run <path> on <device>: <device>: " and onnxruntime's source location / C++ signature.
      const message = ((error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "")
        .replace(/^cannot run \S+ on \w+: \w+: /, "")
        .replace(/^\/onnxruntime_src\/\S+ (?:.*<lambda\(\)> )?/, "");
      const detail = message.slice(0, 300);
      const diagnostics = nativeDiagnostics(d, modelPath);
      out.push({ device: d, ok: false, detail, diagnostics, hint: hintFor(d, [detail, ...diagnostics].join("\n")) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function cosines(a: Float32Array[] | undefined, b: Float32Array[] | undefined): { min: number; median: number; n: number } | undefined {
  if (!a || !b) return undefined;
  const n = Math.min(a.length, b.length);
  if (n === 0) return undefined;
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let k = 0; k < a[i]!.length; k++) dot += a[i]![k]! * b[i]![k]!;
    values.push(dot);
  }
  values.sort((x, y) => x - y);
  return { min: values[0]!, median: values[Math.floor(n / 2)]!, n };
}

const fmtDuration = (seconds: number) => {
  const minutes = Math.round(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
};

async function main(): Promise<void> {
  const started = performance.now();
  const info = machine();
  const dir = resolve(args.out!);

  if (args.probe) {
    // The probe loads the fixture detector; only without fixtures does it need the stand-ins.
    const probes = await probeProviders(fixturesPresent ? undefined : await makeStandins(dir, { log: err }));
    if (args.json) console.log(JSON.stringify({ machine: info, providers: probes }, null, 2));
    else {
      for (const p of probes) {
        console.log(`provider ${p.device.padEnd(7)} ${p.ok ? "ok    " : "FAILED"} ${p.detail}`);
        for (const line of p.diagnostics) console.log(`    onnxruntime: ${line}`);
        if (p.hint) console.log(`    why: ${p.hint}`);
      }
    }
    return;
  }

  const manifest = await makeStandins(dir, { log: err });
  const path = (name: keyof StandinManifest["models"]) => join(manifest.dir, manifest.models[name].file);
  err(`bench:standins on ${device}: preparing inputs`);
  const inputs = await prepareInputs();
  const onCpu = device === "cpu";
  // The CPU's batch-32 IResNet-100 run takes seconds; keep the bench within a few minutes.
  const maxSecondsPerRun = onCpu ? (quick ? 8 : 15) : 30;

  err("recognizer IResNet-100 stand-in, fp32");
  const recFp32 = await measureRecognizer(path("iresnet100"), "fp32", device, inputs.crops, [1, 8, 32], maxSecondsPerRun);
  err("recognizer IResNet-100 stand-in, fp16 (fp16 input/output)");
  const recFp16 = await measureRecognizer(path("iresnet100_fp16"), "fp16", device, inputs.crops, [1, 8, 32], maxSecondsPerRun);
  err("detector SCRFD-10G stand-in at 256, fp32 and fp16");
  const detFp32 = await measureDetector(path("scrfd_10g_bnkps"), device, inputs.photo);
  const detFp16 = await measureDetector(path("scrfd_10g_bnkps_fp16"), device, inputs.photo);
  // The face engine's default: session options calibrated per model and machine (CPU only; cached).
  let recCalibrated: CalibratedResult | undefined;
  let detCalibrated: DetectorResult | undefined;
  if (onCpu && !args["no-calibrate"]) {
    err("calibrated (the face engine's default): recognizer fp32 up to batch 32, detector fp32");
    recCalibrated = await measureCalibratedRecognizer(path("iresnet100"), device, inputs.crops);
    detCalibrated = await measureDetector(path("scrfd_10g_bnkps"), device, inputs.photo, args.recalibrate ? "redo" : "auto");
  }

  const align = await timeRuns(() => alignFace(inputs.photo, inputs.landmarks), { warmup: 5, minRuns: 20, minSeconds: quick ? 0.3 : 1 });
  const decode = await timeRuns(() => decodeRgb(inputs.jpeg), { warmup: 3, minRuns: 10, minSeconds: quick ? 0.3 : 1 });

  // Parity: fp16 vs fp32 on this device; on a GPU also device vs CPU for the same crops.
  const parity: Record<string, { min: number; median: number; n: number } | undefined> = {};
  parity["fp16 vs fp32 (same device)"] = cosines(recFp16.embeddings, recFp32.embeddings);
  if (!onCpu && !recFp32.error) {
    err("parity: the same crops on the CPU");
    const crops8 = inputs.crops.slice(0, 8);
    const cpuRec = await ArcFaceRecognizer.create({ spec: { modelPath: path("iresnet100"), mean: 127.5, std: 127.5 }, device: "cpu", batchSize: 8 });
    const cpuEmb = await cpuRec.embed(crops8);
    await cpuRec.dispose();
    parity[`IResNet-100 fp32 ${device} vs cpu`] = cosines(recFp32.embeddings, cpuEmb);
    parity[`IResNet-100 fp16 ${device} vs fp32 cpu`] = cosines(recFp16.embeddings, cpuEmb);
    if (fixturesPresent) {
      const spec = { modelPath: fixture("models", "mobilefacenet_arcface_512.onnx"), mean: 127, std: 128 };
      try {
        const onDevice = await ArcFaceRecognizer.create({ spec, device });
        const a = await onDevice.embed(inputs.crops);
        await onDevice.dispose();
        const cpu = await ArcFaceRecognizer.create({ spec, device: "cpu" });
        const b = await cpu.embed(inputs.crops);
        await cpu.dispose();
        parity[`MobileFaceNet (fixture) ${device} vs cpu`] = cosines(a, b);
      } catch (error) {
        console.error(`MobileFaceNet parity failed: ${errorText(error)}`);
      }
    }
  }

  // Intra-op threads 1 and 2 (CPU only), at the recognizer batch that was fastest (<= 8).
  type PerThreads = Record<number, { ms: number; cpuMs: number }>;
  let threads: { recBatch: number; rec: PerThreads; det: PerThreads } | undefined;
  if (onCpu && !args["no-threads"] && !recFp32.error && !detFp32.error) {
    const best = recFp32.batches.filter((b) => b.batch <= 8).sort((a, b) => a.msPerImage - b.msPerImage)[0]?.batch ?? 1;
    err("intra-op threads 1 and 2, alternating");
    const rounds = quick ? 1 : 3;
    threads = {
      recBatch: best,
      rec: await threadScaling(path("iresnet100"), [best, 3, 112, 112], rounds),
      det: await threadScaling(path("scrfd_10g_bnkps"), [1, 3, DET_SIZE, DET_SIZE], rounds),
    };
  }

  // Estimates: detect + align + embed per image, times the release's images.
  const bestRec = [...recFp32.batches].sort((a, b) => a.msPerImage - b.msPerImage)[0];
  const perImageMs = bestRec && detFp32.msPerImage !== undefined ? detFp32.msPerImage + align.ms + bestRec.msPerImage : undefined;
  const estimates: Record<string, unknown> = {};
  if (perImageMs !== undefined) {
    estimates.thisMachine = {
      msPerImage: perImageMs,
      releaseSeconds: (RELEASE_IMAGES * perImageMs) / 1000,
      withDecodeSeconds: (RELEASE_IMAGES * (perImageMs + decode.ms)) / 1000,
      recognizerBatch: bestRec!.batch,
    };
  }
  if (recCalibrated?.msPerImage !== undefined && detCalibrated?.msPerImage !== undefined) {
    const ms = detCalibrated.msPerImage + align.ms + recCalibrated.msPerImage;
    estimates.thisMachineCalibrated = { msPerImage: ms, releaseSeconds: (RELEASE_IMAGES * ms) / 1000, withDecodeSeconds: (RELEASE_IMAGES * (ms + decode.ms)) / 1000 };
  }
  if (threads) {
    const r1 = threads.rec[1]!.ms;
    const r2 = threads.rec[2]!.ms;
    const d1 = threads.det[1]!.ms;
    const d2 = threads.det[2]!.ms;
    const t1 = d1 + r1 + align.ms;
    const t1cpu = threads.det[1]!.cpuMs + threads.rec[1]!.cpuMs + align.cpuMs;
    // (a) one process with 4 threads: each model's 1->2 thread speedup assumed again for 2->4.
    const t4 = d2 ** 2 / d1 + r2 ** 2 / r1 + align.ms;
    estimates.fourCores = {
      method:
        "(a) one process, 4 intra-op threads: per model t4 = t2^2 / t1 (the measured 1->2 thread speedup repeated for 2->4), plus align (single-threaded JS); " +
        "(b) 4 single-threaded processes (e.g. embed --shard i/4 on one runner): 4 images per (t1 + align), no memory-bandwidth or SMT contention assumed; " +
        "(b') the same from CPU time instead of wall time (what t1 would be on an idle machine). All assume 4 physical cores as fast as these.",
      msPerImage1Thread: t1,
      cpuMsPerImage1Thread: t1cpu,
      msPerImage2Threads: d2 + r2 + align.ms,
      speedup2Threads: { detector: d1 / d2, recognizer: r1 / r2 },
      oneProcess4Threads: { msPerImage: t4, releaseSeconds: (RELEASE_IMAGES * t4) / 1000 },
      fourProcesses1Thread: { msPerImage: t1 / 4, releaseSeconds: (RELEASE_IMAGES * t1) / 4 / 1000 },
      fourProcesses1ThreadCpuTime: { msPerImage: t1cpu / 4, releaseSeconds: (RELEASE_IMAGES * t1cpu) / 4 / 1000 },
    };
  }

  const strip = (r: RecognizerResult) => ({ ...r, embeddings: undefined });
  const summary = {
    machine: info,
    device,
    inputs: inputs.source,
    standins: Object.fromEntries(Object.entries(manifest.models).map(([k, m]) => [k, { file: m.file, bytes: m.bytes, sha256: m.sha256, parameters: m.parameters, macs: m.macs, macsAt: m.macsAt, macsVga: m.macsVga }])),
    recognizer: { fp32: strip(recFp32), fp16: strip(recFp16) },
    detector: { fp32: detFp32, fp16: detFp16, fp32Calibrated: detCalibrated },
    recognizerCalibrated: recCalibrated,
    alignMs: align.ms,
    decode512JpegMs: decode.ms,
    threads,
    parity,
    estimates,
    benchSeconds: (performance.now() - started) / 1000,
  };
  if (args["json-file"]) writeFileSync(args["json-file"], JSON.stringify(summary, null, 2) + "\n");
  // fp32 is what the release runs: its failure fails the bench; an fp16 failure is a finding.
  if (recFp32.error || detFp32.error) process.exitCode = 1;
  if (args.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }

  const p = (s: string) => console.log(s);
  p(`bench:standins  device ${device}  ${info.date}`);
  p(`machine: ${info.cpuModel}, ${info.cpus} CPUs (${info.sockets ?? "?"} socket x ${info.coresPerSocket ?? "?"} cores x ${info.threadsPerCore ?? "?"} threads), AVX-512 ${info.avx512 ? "yes" : "no"}, load average ${info.loadAverage.join(" ")}${info.gpu ? `, GPU ${info.gpu}` : ""}`);
  p(`node ${info.node}, onnxruntime-node ${info.onnxruntime}; inputs: ${inputs.source}`);
  for (const [k, m] of Object.entries(manifest.models)) {
    p(`  ${k.padEnd(22)} ${(m.parameters / 1e6).toFixed(2).padStart(6)} M params, ${(m.macs / 1e9).toFixed(2)} GMACs at ${m.macsAt}${m.macsVga ? ` (${(m.macsVga / 1e9).toFixed(2)} at 640x480)` : ""}`);
  }
  p("");
  p("recognizer (ArcFaceRecognizer, IResNet-100 stand-in, 112x112 crops)");
  for (const r of [recFp32, recFp16]) {
    if (r.error) {
      p(`  ${r.dtype}: FAILED ${r.error}`);
      continue;
    }
    for (const b of r.batches) p(`  ${r.dtype} batch ${String(b.batch).padStart(2)}: ${b.imagesPerSecond.toFixed(2).padStart(8)} images/s  ${b.msPerImage.toFixed(1).padStart(7)} ms/image  (${b.runs} runs; provider ${r.provider}, load ${r.loadSeconds!.toFixed(1)} s)`);
    if (r.skipped) p(`  ${r.dtype}: ${r.skipped}`);
  }
  if (recCalibrated) {
    const c = recCalibrated;
    if (c.error) p(`  fp32 calibrated: FAILED ${c.error}`);
    else p(`  fp32 calibrated: ${c.imagesPerSecond!.toFixed(2).padStart(8)} images/s  ${c.msPerImage!.toFixed(1).padStart(7)} ms/image  (picked: ${c.choice}; calibration + load ${c.createSeconds!.toFixed(1)} s, cached after the first run)`);
  }
  p("detector (ScrfdDetector, SCRFD-10G-bnkps stand-in, detection size 256, 512x512 photo)");
  for (const [label, d] of [["fp32", detFp32], ["fp16 (fp32 I/O)", detFp16], ...(detCalibrated ? [["fp32 calibrated", detCalibrated] as const] : [])] as const) {
    if (d.error) p(`  ${label}: FAILED ${d.error}`);
    else p(`  ${label}: ${d.imagesPerSecond!.toFixed(2).padStart(8)} images/s  ${d.msPerImage!.toFixed(1).padStart(7)} ms/image  (blob ${d.blob}, ${d.runs} runs, ${d.facesFound} faces (random weights); provider ${d.provider}, load ${d.loadSeconds!.toFixed(1)} s)`);
  }
  p(`align (alignFace, 512 px image -> 112x112): ${align.ms.toFixed(2)} ms/image;  decode (sharp, 512x512 JPEG): ${decode.ms.toFixed(2)} ms/image`);
  for (const [label, c] of Object.entries(parity)) {
    if (c) p(`cosine ${label}: min ${c.min.toFixed(6)} (1 - min = ${(1 - c.min).toExponential(1)}), median ${c.median.toFixed(6)} over ${c.n} crops`);
  }
  if (threads) {
    const [r1, r2, d1, d2] = [threads.rec[1]!, threads.rec[2]!, threads.det[1]!, threads.det[2]!];
    p(`intra-op threads (plain onnxruntime sessions, spinning off, best of alternating rounds; wall ms/image, CPU ms/image in brackets):`);
    p(`  recognizer fp32 batch ${threads.recBatch}: 1 thread ${r1.ms.toFixed(1)} [${r1.cpuMs.toFixed(1)}], 2 threads ${r2.ms.toFixed(1)} [${r2.cpuMs.toFixed(1)}]: x${(r1.ms / r2.ms).toFixed(2)}`);
    p(`  detector fp32 at 256:    1 thread ${d1.ms.toFixed(1)} [${d1.cpuMs.toFixed(1)}], 2 threads ${d2.ms.toFixed(1)} [${d2.cpuMs.toFixed(1)}]: x${(d1.ms / d2.ms).toFixed(2)}`);
  }
  p("");
  const here = estimates.thisMachine as { msPerImage: number; releaseSeconds: number; withDecodeSeconds: number; recognizerBatch: number } | undefined;
  if (here) {
    p(`release estimate, ${RELEASE_IMAGES.toLocaleString("en-US")} images, this machine (${device}), onnxruntime defaults: detect ${detFp32.msPerImage!.toFixed(1)} + align ${align.ms.toFixed(2)} + embed ${bestRec!.msPerImage.toFixed(1)} (batch ${here.recognizerBatch}) = ${here.msPerImage.toFixed(1)} ms/image -> ${fmtDuration(here.releaseSeconds)} (${fmtDuration(here.withDecodeSeconds)} with decode)`);
  }
  const cal = estimates.thisMachineCalibrated as { msPerImage: number; releaseSeconds: number; withDecodeSeconds: number } | undefined;
  if (cal) {
    p(`release estimate, this machine, calibrated (the engine's default): detect ${detCalibrated!.msPerImage!.toFixed(1)} + align ${align.ms.toFixed(2)} + embed ${recCalibrated!.msPerImage!.toFixed(1)} = ${cal.msPerImage.toFixed(1)} ms/image -> ${fmtDuration(cal.releaseSeconds)} (${fmtDuration(cal.withDecodeSeconds)} with decode)`);
  }
  type Est = { msPerImage: number; releaseSeconds: number };
  const four = estimates.fourCores as { oneProcess4Threads: Est; fourProcesses1Thread: Est; fourProcesses1ThreadCpuTime: Est; method: string } | undefined;
  if (four) {
    const e = (x: Est) => `${x.msPerImage.toFixed(1)} ms/image -> ${fmtDuration(x.releaseSeconds)}`;
    p(`release estimate, 4-core runner: (a) one process, 4 threads: ${e(four.oneProcess4Threads)}; (b) 4 single-threaded processes: ${e(four.fourProcesses1Thread)}; (b') from CPU time: ${e(four.fourProcesses1ThreadCpuTime)}`);
    const sp = (estimates.fourCores as { speedup2Threads: { detector: number; recognizer: number } }).speedup2Threads;
    const flat = Object.entries(sp).filter(([, v]) => v < 1.05).map(([k, v]) => `${k} x${v.toFixed(2)}`);
    if (flat.length) p(`  note: a second intra-op thread did not pay for the ${flat.join(", ")}: (a) extrapolates that too; parallel processes (b) use the cores better`);
    p(`  method: ${four.method}`);
    p("  caveat: a GitHub-hosted 4-vCPU Linux runner is usually 2 cores x 2 SMT threads, often without AVX-512: check its lscpu; expect it nearer the 2-thread figure.");
  }
  const busy = Math.max(info.loadAverage[0]!, loadavg()[0]!) > 0.5 * info.cpus;
  if (busy) p(`machine busy (load average ${info.loadAverage[0]} at start, ${loadavg()[0]!.toFixed(2)} now, ${info.cpus} CPUs): other processes shared the cores, wall times are pessimistic; CPU ms in brackets are closer to an idle machine's`);
  p(`(bench took ${((performance.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg().map((v) => v.toFixed(2)).join(" ")})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
