/**
 * Chooses a model's onnxruntime settings by measuring them on this machine (issue #12: the NCHWc
 * transformer that speeds the detectors up slows MobileFaceNet down ~5x, threads and batch size
 * pay off differently per model and CPU, so no fixed setting is right). Candidates: graph
 * optimisation `all` with and without the NCHWc transformer x intra-op threads {1, half the
 * cores, all cores} x the batch sizes the caller allows. Each is timed on a dummy input for a
 * quarter of a second (its fastest run counts); the fastest per input wins.
 *
 * The result is cached in `<user cache dir>/session-calibration.json`, keyed by the model's
 * SHA-256, provider, precision, requested input shape and batch sizes, CPU model and core count,
 * and onnxruntime's version, so it runs once per model and machine; a cached choice costs one
 * session, no extra model load. "skip" uses onnxruntime's defaults and measures nothing;
 * "redo" measures again. Only the CPU provider is calibrated: GPU providers ignore these knobs.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { basename, join } from "node:path";
import { createRequire } from "node:module";
import type { InferenceSession } from "onnxruntime-node";
import { Tensor } from "onnxruntime-node";
import { sha256OfFile } from "../common/file-hashes.ts";
import { log } from "../common/logger.ts";
import { userCacheDir } from "../common/user-cache-dir.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";
import { batchCandidatesOf, describeChoice, resolvedInputShape, type SessionChoice } from "./session-options.ts";

export type CalibrationMode = "auto" | "skip" | "redo";
export const CALIBRATION_MODES: readonly CalibrationMode[] = ["auto", "skip", "redo"];

/** Bump when the candidates or the timing change, so old measurements are not reused. */
const CALIBRATION_VERSION = 2;
/** Each candidate runs at least this long (after one warm-up run), and at least twice. */
const MIN_SECONDS_PER_CANDIDATE = 0.25;

export interface CalibrateSessionParams {
  /** Local path of the ONNX file (hashed for the cache key unless `modelSha256` is given). */
  modelPath: string;
  /** SHA-256 of the file when the caller already has it. */
  modelSha256?: string;
  /** Provider the session runs on; only "cpu" is calibrated. */
  device: string;
  /** Precision of the file. */
  dtype: "fp32" | "fp16";
  /** Size of each free input dimension, as for the probe inference (the batch dimension is set per candidate). */
  probeShape: number[];
  /** Batch sizes allowed; the fastest per input is chosen (a model with a fixed batch runs at its own). */
  batchCandidates: number[];
  /** "auto" (cached measurement), "redo" (measure again) or "skip" (no calibration). */
  mode: CalibrationMode;
  /** Opens a session of the model with a candidate's options. */
  open: (choice: SessionChoice) => Promise<InferenceSession>;
  /** Cache file (default `<user cache dir>/session-calibration.json`). */
  cacheFile?: string;
}

export interface CalibratedSession {
  /** A session opened with the chosen options, ready to use. */
  session: InferenceSession;
  choice: SessionChoice;
  /** Milliseconds per input measured for the choice. */
  msPerInput: number;
  /** False when the choice came from the cache. */
  measured: boolean;
}

interface CacheEntry {
  choice: SessionChoice;
  msPerInput: number;
  /** Every candidate measured, for the curious (ms per input). */
  candidates: { choice: SessionChoice; msPerInput: number }[];
  measuredAt: string;
}

interface CacheFile {
  version: number;
  entries: Record<string, CacheEntry>;
}

const ortVersion = (): string => {
  try {
    return (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
};

/** Intra-op thread counts worth trying: 1, half the cores, all of them. */
export function threadCandidates(cores = availableParallelism()): number[] {
  return [...new Set([1, Math.max(1, Math.floor(cores / 2)), cores])].sort((a, b) => a - b);
}

async function readCache(file: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as CacheFile;
    if (parsed && parsed.version === CALIBRATION_VERSION && typeof parsed.entries === "object" && parsed.entries) return parsed;
  } catch {
    // Missing or unreadable (a partial write cannot happen: writes are atomic): measure again.
  }
  return { version: CALIBRATION_VERSION, entries: {} };
}

/**
 * Fastest milliseconds per input of `session` at `batch`, over at least two timed runs: the
 * minimum, not the median, because other processes on the machine only ever add time.
 */
async function timeSession(session: InferenceSession, inputShape: number[], batch: number): Promise<number> {
  const name = session.inputNames[0]!;
  const meta = session.inputMetadata[0];
  const shape = [batch, ...inputShape.slice(1)];
  const size = shape.reduce((a, b) => a * b, 1);
  const half = meta?.isTensor === true && meta.type === "float16";
  // A mid-grey input: all-zero inputs may take shortcuts real images do not.
  const input = half ? new Tensor("float16", new Uint16Array(size).fill(0x3800), shape) : new Tensor("float32", new Float32Array(size).fill(0.5), shape);
  const run = async () => {
    const outputs = await session.run({ [name]: input });
    for (const out of Object.values(outputs)) out.dispose?.();
  };
  await run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 2 || (performance.now() - started) / 1000 < MIN_SECONDS_PER_CANDIDATE) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
    if (times.length >= 50) break;
  }
  return Math.min(...times) / batch;
}

/**
 * Opens the model with the fastest measured options (or the cached choice). Returns undefined when
 * calibration does not apply ("skip", or a GPU provider): the caller keeps its default session.
 */
export async function calibrateSession(params: CalibrateSessionParams): Promise<CalibratedSession | undefined> {
  if (params.mode === "skip" || params.device !== "cpu") return undefined;
  const file = params.cacheFile ?? join(userCacheDir(), "session-calibration.json");
  const requested = [...new Set(params.batchCandidates.map((b) => Math.max(1, Math.floor(b))))].sort((a, b) => a - b);
  // Keyed by the request, not by the model's resolved shape, so a cache hit opens nothing else.
  const key = JSON.stringify({
    sha256: params.modelSha256 ?? (await sha256OfFile(params.modelPath)),
    device: params.device,
    dtype: params.dtype,
    input: params.probeShape.slice(1),
    batches: requested,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    onnxruntime: ortVersion(),
  });
  const name = basename(params.modelPath);
  if (params.mode === "auto") {
    const cached = (await readCache(file)).entries[key];
    if (cached) {
      log.debug(`calibration of ${name} from ${file}: ${describeChoice(cached.choice)}`);
      return { session: await params.open(cached.choice), choice: cached.choice, msPerInput: cached.msPerInput, measured: false };
    }
  }

  log.info(`calibrating ${name} on this CPU (once per model and machine, cached in ${file}; --calibrate skip turns it off)`);
  const measured: CacheEntry["candidates"] = [];
  let best: { session: InferenceSession; choice: SessionChoice; msPerInput: number } | undefined;
  // The input shape and batch sizes come from the model itself, read from the first session opened.
  let inputShape: number[] = params.probeShape;
  let batches = requested;
  const consider = async (choice: SessionChoice, session: InferenceSession) => {
    const msPerInput = await timeSession(session, inputShape, choice.batch);
    measured.push({ choice, msPerInput });
    log.debug(`  ${name}: ${describeChoice(choice)}: ${msPerInput.toFixed(2)} ms per input`);
    if (!best || msPerInput < best.msPerInput) {
      await best?.session.release();
      best = { session, choice, msPerInput };
    } else {
      await session.release();
    }
  };
  try {
    // Options first, at the smallest batch (cheap); then the batch sizes with the winning options.
    let first = true;
    for (const optimization of ["all", "all-without-nchwc"] as const) {
      for (const threads of threadCandidates()) {
        const session = await params.open({ optimization, threads, batch: batches[0]! });
        if (first) {
          first = false;
          inputShape = resolvedInputShape(session, params.probeShape) ?? params.probeShape;
          batches = batchCandidatesOf(session, requested).sort((a, b) => a - b);
        }
        await consider({ optimization, threads, batch: batches[0]! }, session);
      }
    }
    // Ascending batches until one stops paying (a large model's batch-32 run takes seconds).
    for (const batch of batches.slice(1)) {
      const choice: SessionChoice = { ...best!.choice, batch };
      await consider(choice, await params.open(choice));
      if (best!.choice !== choice) break;
    }
  } catch (error) {
    await best?.session.release();
    throw error;
  }
  const chosen = best!;
  const baseline = measured.find((m) => m.choice.optimization === "all" && m.choice.threads === availableParallelism() && m.choice.batch === batches[0]);
  log.info(
    `calibrated ${name}: ${describeChoice(chosen.choice)}, ${chosen.msPerInput.toFixed(2)} ms per input` +
      (baseline ? ` (onnxruntime's default level and threads: ${baseline.msPerInput.toFixed(2)} ms)` : ""),
  );
  try {
    // Re-read just before writing: another process may have added its own models meanwhile.
    const cache = await readCache(file);
    cache.entries[key] = { choice: chosen.choice, msPerInput: chosen.msPerInput, candidates: measured, measuredAt: new Date().toISOString() };
    await writeFileAtomic(file, JSON.stringify(cache, null, 1) + "\n");
  } catch (error) {
    // A read-only home only costs a new measurement next time.
    log.warn(`could not save the calibration to ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ...chosen, measured: true };
}
