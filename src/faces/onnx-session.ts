/**
 * Creates ONNX Runtime sessions through transformers.js, so that the device -> execution provider
 * mapping (cpu, webgpu, cuda on onnxruntime-node) and the runtime binding are transformers.js's own.
 *
 * transformers.js has no public "load this bare .onnx file" call: `createInferenceSession` is
 * internal (not exported by the package), and `PreTrainedModel.from_pretrained` expects a model
 * folder (`config.json` + `onnx/model.onnx`). So we build that folder in a temp dir with a symlink
 * to the user's file and a minimal config, load it as a custom (unknown `model_type`) model, and
 * keep its session. The folder is removed once the session holds the model in memory.
 *
 * `device: "auto"` is ours, not transformers.js's: its "auto" hands ORT a list of providers and ORT
 * silently falls back, so nobody would know which one runs. We try cuda, then webgpu, then cpu,
 * and keep the first that initialises AND runs a dummy inference.
 */
import { copyFile, mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { InferenceSession } from "onnxruntime-node";
import { Tensor } from "onnxruntime-node";
import { UsageError } from "../common/errors.ts";
import { getLogLevel, log } from "../common/logger.ts";
import type { DeviceChoice } from "./types.ts";
import { calibrateSession, type CalibrationMode } from "./calibrate-session.ts";
import { batchCandidatesOf, resolvedInputShape, sessionOptionsOf, type SessionChoice } from "./session-options.ts";

type Transformers = typeof import("@huggingface/transformers");
let transformers: Transformers | undefined;
export type ConcreteDevice = Exclude<DeviceChoice, "auto">;

/** Order in which "auto" tries providers: fastest first. */
export const AUTO_DEVICE_ORDER: ConcreteDevice[] = ["cuda", "webgpu", "cpu"];

export interface OnnxSessionParams {
  /** Local path of the ONNX file. */
  modelPath: string;
  /** Requested device; "auto" probes in `AUTO_DEVICE_ORDER`. */
  device?: DeviceChoice;
  /** Precision of the file (transformers.js picks the file suffix from it). */
  dtype?: "fp32" | "fp16";
  /** Input shape for the dummy inference that proves a provider works; free dims become 1 or this size. */
  probeShape?: number[];
  /**
   * Session options by measurement ("auto": measured once per model, provider and CPU, then
   * cached; "redo": measure again; "skip": onnxruntime's defaults). Default "skip" here; the face
   * engine passes the user's choice.
   */
  calibrate?: CalibrationMode;
  /** SHA-256 of the model file when already known (the calibration's cache key; saves hashing it again). */
  modelSha256?: string;
  /** Batch sizes the calibration may pick from (dynamic-batch recognizers); default [1]. Uncalibrated: the largest. */
  batchCandidates?: number[];
}

export interface LoadedSession {
  session: InferenceSession;
  /** Execution provider actually in use. */
  provider: ConcreteDevice;
  /** Options and batch size the session runs with (calibrated or default). */
  choice: SessionChoice;
}

/**
 * transformers.js, loaded on first use and as its CommonJS build: the CLI runs under tsx's ESM
 * loader, which re-reads the 1.3 MB ESM bundle through its hooks and costs ~150 MB of RSS and
 * ~0.7 s at every start; `require` bypasses those hooks (same package, same onnxruntime-node).
 */
function loadTransformers(): Transformers {
  if (transformers) return transformers;
  transformers = createRequire(import.meta.url)("@huggingface/transformers") as Transformers;
  const { env, LogLevel } = transformers;
  // Local files only: nothing in this stage may reach the network.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // ORT prints native errors for every provider "auto" probes and rejects (missing CUDA libraries,
  // no WebGPU adapter); we report failures ourselves, so keep it quiet unless debugging.
  env.logLevel = getLogLevel() === "debug" ? LogLevel.WARNING : LogLevel.NONE;
  return transformers;
}

/**
 * Loads `modelPath` on one concrete device through transformers.js, which forwards
 * `session_options` to onnxruntime (graph optimisation level, threads, config entries).
 */
export async function openSession(
  modelPath: string,
  device: ConcreteDevice,
  dtype: "fp32" | "fp16",
  choice?: SessionChoice,
): Promise<InferenceSession> {
  const { PreTrainedModel } = loadTransformers();
  const folder = await mkdtemp(join(tmpdir(), "idclusters-onnx-"));
  try {
    await mkdir(join(folder, "onnx"));
    // transformers.js names the file after the dtype: model.onnx (fp32), model_fp16.onnx (fp16).
    const fileName = dtype === "fp16" ? "model_fp16.onnx" : "model.onnx";
    const target = join(folder, "onnx", fileName);
    // A symlink costs nothing; where the temp filesystem refuses one, a copy still works.
    await symlink(resolve(modelPath), target).catch(() => copyFile(modelPath, target));
    await writeFile(join(folder, "config.json"), JSON.stringify({ model_type: "idclusters-custom-onnx" }));
    const session_options = choice ? sessionOptionsOf(choice) : undefined;
    const model = await PreTrainedModel.from_pretrained(folder, { device, dtype, local_files_only: true, session_options });
    const session = (model as unknown as { sessions: Record<string, InferenceSession> }).sessions.model;
    if (!session) throw new Error(`transformers.js created no session for ${modelPath}`);
    return session;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Runs one inference on zeros so a provider that loads but cannot execute is caught here. */
async function probe(session: InferenceSession, probeShape: number[] | undefined): Promise<void> {
  const meta = session.inputMetadata[0];
  const name = session.inputNames[0];
  const shape = resolvedInputShape(session, probeShape);
  if (!name || !meta || !meta.isTensor || !shape) return;
  const size = shape.reduce((a, b) => a * b, 1);
  const tensor =
    meta.type === "float16" ? new Tensor("float16", new Uint16Array(size), shape) : new Tensor("float32", new Float32Array(size), shape);
  const outputs = await session.run({ [name]: tensor });
  for (const out of Object.values(outputs)) out.dispose?.();
}

/** Opens the model on the CPU with calibrated options (the cached choice, or measured now). */
async function calibrated(params: OnnxSessionParams, device: ConcreteDevice, dtype: "fp32" | "fp16", mode: CalibrationMode): Promise<LoadedSession> {
  const result = await calibrateSession({
    modelPath: params.modelPath,
    modelSha256: params.modelSha256,
    device,
    dtype,
    probeShape: params.probeShape ?? [1],
    batchCandidates: params.batchCandidates ?? [1],
    mode,
    open: (choice) => openSession(params.modelPath, device, dtype, choice),
  });
  if (!result) throw new Error(`calibration of ${params.modelPath} on ${device} gave no session`);
  return { session: result.session, provider: device, choice: result.choice };
}

/**
 * Opens `modelPath` on the requested device. An explicit device that fails is an error; "auto"
 * logs each failed attempt at debug level and says which provider it kept.
 */
export async function loadOnnxSession(params: OnnxSessionParams): Promise<LoadedSession> {
  if (!existsSync(params.modelPath)) throw new UsageError(`model file not found: ${params.modelPath}`);
  const dtype = params.dtype ?? "fp32";
  const requested = params.device ?? "auto";
  const candidates = requested === "auto" ? AUTO_DEVICE_ORDER : [requested];
  const failures: string[] = [];
  const mode = params.calibrate ?? "skip";
  for (const device of candidates) {
    let session: InferenceSession | undefined;
    try {
      // The calibration runs the model itself, which proves the provider works: no separate
      // probe session there (each session's arena stays in the process: ~70 MB for YuNet at 640).
      if (device === "cpu" && mode !== "skip") return await calibrated(params, device, dtype, mode);
      session = await openSession(params.modelPath, device, dtype);
      await probe(session, params.probeShape);
      if (requested === "auto") log.debug(`device auto: ${params.modelPath} runs on ${device}`);
      // Uncalibrated: onnxruntime's defaults and the largest batch allowed (what idclusters did before).
      const batches = batchCandidatesOf(session, params.batchCandidates);
      return { session, provider: device, choice: { batch: Math.max(...batches) } };
    } catch (error) {
      await session?.release().catch(() => undefined);
      const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
      failures.push(`${device}: ${reason}`);
      log.debug(`device ${device} unavailable for ${params.modelPath}: ${reason}`);
    }
  }
  throw new Error(`cannot run ${params.modelPath} on ${requested}: ${failures.join("; ")}`);
}
