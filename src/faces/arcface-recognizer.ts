/**
 * ArcFace-style recognizer: aligned 112x112 crops -> L2-normalised embeddings
 * (reference-pipeline.md "Embedding (ArcFace)": RGB NCHW blob (p - mean) / std, one vector per face,
 * then L2 normalisation; stored as float32).
 * Crops are batched when the model's batch dimension is dynamic; a model exported with batch 1
 * (like the fixture MobileFaceNet) runs one crop at a time.
 */
import { Tensor } from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-node";
import type { RgbImage } from "../common/image.ts";
import type { DeviceChoice, RecognizerSpec } from "./types.ts";
import { loadOnnxSession, type ConcreteDevice } from "./onnx-session.ts";
import type { CalibrationMode } from "./calibrate-session.ts";
import type { SessionChoice } from "./session-options.ts";
import { fromHalf, toHalf } from "./float16.ts";
import { ALIGNED_SIZE } from "./align-face.ts";

export interface RecognizerCreateParams {
  /** Model file and its normalisation constants. */
  spec: RecognizerSpec;
  /** Where to run (default "auto"). */
  device?: DeviceChoice;
  /** Most crops per inference for models with a dynamic batch dimension (default 32). */
  batchSize?: number;
  /**
   * Session options and batch size by measurement (default "skip": onnxruntime's defaults and
   * `batchSize`); a calibrated dynamic-batch model runs at 1, 8, 32 or `batchSize`, the fastest
   * per crop up to `batchSize`.
   */
  calibrate?: CalibrationMode;
  /** SHA-256 of the model file when already known (the calibration's cache key; saves hashing it again). */
  modelSha256?: string;
}

/** Batch sizes a dynamic-batch recognizer may run at, up to `most`. */
function batchCandidates(most: number): number[] {
  return [...new Set([1, 8, 32, most].filter((b) => b <= most))];
}

const triple = (v: [number, number, number] | number): [number, number, number] => (typeof v === "number" ? [v, v, v] : v);

export class ArcFaceRecognizer {
  readonly provider: ConcreteDevice;
  /** Crops per inference actually used (1 for fixed-batch models). */
  readonly batchSize: number;
  readonly embeddingDim: number;
  /** Session options and batch the recognizer runs with. */
  readonly choice: SessionChoice;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly half: boolean;
  private readonly fixedBatch: boolean;
  private readonly mean: [number, number, number];
  private readonly invStd: [number, number, number];
  private blob = new Float32Array(0);

  private constructor(
    private readonly session: InferenceSession,
    provider: ConcreteDevice,
    spec: RecognizerSpec,
    choice: SessionChoice,
  ) {
    this.provider = provider;
    this.choice = choice;
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    if (!input?.isTensor || !output?.isTensor) throw new Error(`${spec.modelPath}: expected a tensor input and output`);
    this.inputName = input.name;
    this.outputName = output.name;
    this.half = input.type === "float16";
    const batchDim = input.shape[0];
    this.fixedBatch = typeof batchDim === "number" && batchDim > 0;
    this.batchSize = this.fixedBatch ? (batchDim as number) : Math.max(1, choice.batch);
    const dim = output.shape[output.shape.length - 1];
    if (typeof dim !== "number" || dim <= 0) throw new Error(`${spec.modelPath}: embedding size is not fixed in the model`);
    this.embeddingDim = dim;
    this.mean = triple(spec.mean);
    const std = triple(spec.std);
    this.invStd = [1 / std[0], 1 / std[1], 1 / std[2]];
  }

  static async create(params: RecognizerCreateParams): Promise<ArcFaceRecognizer> {
    const { session, provider, choice } = await loadOnnxSession({
      modelPath: params.spec.modelPath,
      device: params.device,
      dtype: params.spec.dtype,
      probeShape: [1, 3, ALIGNED_SIZE, ALIGNED_SIZE],
      calibrate: params.calibrate,
      modelSha256: params.modelSha256,
      // A model with a fixed batch dimension has nothing to choose (its own size is used).
      batchCandidates: batchCandidates(Math.max(1, Math.floor(params.batchSize ?? 32))),
    });
    return new ArcFaceRecognizer(session, provider, params.spec, choice);
  }

  /** One L2-normalised embedding per crop, in order. */
  async embed(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    const result: Float32Array[] = [];
    for (let start = 0; start < crops.length; start += this.batchSize) {
      const batch = crops.slice(start, start + this.batchSize);
      // A fixed-batch model always gets its full batch (zero-padded); dynamic models get what is there.
      const n = this.fixedBatch ? this.batchSize : batch.length;
      const vectors = await this.runBatch(batch, n);
      result.push(...vectors);
    }
    return result;
  }

  private async runBatch(batch: readonly RgbImage[], n: number): Promise<Float32Array[]> {
    const plane = ALIGNED_SIZE * ALIGNED_SIZE;
    const size = n * 3 * plane;
    if (this.blob.length < size) this.blob = new Float32Array(size);
    const blob = this.blob;
    blob.fill(0, 0, size);
    const [m0, m1, m2] = this.mean;
    const [s0, s1, s2] = this.invStd;
    batch.forEach((crop, i) => {
      if (crop.width !== ALIGNED_SIZE || crop.height !== ALIGNED_SIZE) {
        throw new Error(`recognizer input must be ${ALIGNED_SIZE}x${ALIGNED_SIZE}, got ${crop.width}x${crop.height}`);
      }
      const d = crop.data;
      const base = i * 3 * plane;
      for (let p = 0, q = 0; p < plane; p++, q += 3) {
        blob[base + p] = (d[q]! - m0) * s0;
        blob[base + plane + p] = (d[q + 1]! - m1) * s1;
        blob[base + 2 * plane + p] = (d[q + 2]! - m2) * s2;
      }
    });
    const shape = [n, 3, ALIGNED_SIZE, ALIGNED_SIZE];
    const input = this.half
      ? new Tensor("float16", Uint16Array.from(blob.subarray(0, size), toHalf), shape)
      : new Tensor("float32", blob.subarray(0, size), shape);
    const outputs = await this.session.run({ [this.inputName]: input });
    const out = outputs[this.outputName]!;
    const raw = out.data as Float32Array | Uint16Array;
    const values = out.type === "float16" ? Float32Array.from(raw as Uint16Array, fromHalf) : (raw as Float32Array);
    const dim = this.embeddingDim;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < batch.length; i++) {
      const v = values.slice(i * dim, (i + 1) * dim);
      let norm = 0;
      for (let k = 0; k < dim; k++) norm += v[k]! * v[k]!;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let k = 0; k < dim; k++) v[k]! *= inv;
      vectors.push(v);
    }
    for (const o of Object.values(outputs)) o.dispose?.();
    return vectors;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
