/**
 * SCRFD face detector (InsightFace; the release's SCRFD-10G and the fixture SCRFD-500M), decoded
 * as in reference-pipeline.md "Detection (SCRFD)": RGB blob (p - 127.5) / 128 letterboxed to the
 * top-left; per stride, anchor centres (x * stride, y * stride) repeated per anchor; box = centre
 * -/+ distance * stride; keypoint = centre + offset * stride; keep score >= threshold, sort, NMS
 * (IoU 0.4 by default, InsightFace's +1 pixel areas), divide by the letterbox scale.
 */
import { Tensor } from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-node";
import type { RgbImage } from "../common/image.ts";
import type { Detection, DetectorSpec, DeviceChoice, FaceDetector } from "./types.ts";
import { letterbox } from "./letterbox.ts";
import { nonMaxSuppression } from "./nms.ts";
import { anchorsPerLocation, groupLevels } from "./detector-outputs.ts";
import { loadOnnxSession, type ConcreteDevice } from "./onnx-session.ts";
import { modelInputSize } from "./model-input-size.ts";
import type { SessionChoice } from "./session-options.ts";
import type { CalibrationMode } from "./calibrate-session.ts";

export interface DetectorCreateParams {
  /** Model, size and thresholds. */
  spec: DetectorSpec;
  /** Where to run (default "auto"). */
  device?: DeviceChoice;
  /** Session options by measurement (default "skip": onnxruntime's defaults); see calibrate-session.ts. */
  calibrate?: CalibrationMode;
  /** SHA-256 of the model file when already known (the calibration's cache key; saves hashing it again). */
  modelSha256?: string;
}

export class ScrfdDetector implements FaceDetector {
  readonly provider: ConcreteDevice;
  /** Session options the detector runs with (calibrated or onnxruntime's defaults). */
  readonly choice: SessionChoice;
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Square the image is letterboxed into (the detection size). */
  readonly fitSize: number;
  private readonly blob: Float32Array;

  private constructor(
    private readonly session: InferenceSession,
    provider: ConcreteDevice,
    private readonly spec: DetectorSpec,
    choice: SessionChoice,
  ) {
    this.provider = provider;
    this.choice = choice;
    const size = modelInputSize(session, spec.inputSize, 32);
    this.inputWidth = size.width;
    this.inputHeight = size.height;
    this.fitSize = size.fitSize;
    this.blob = new Float32Array(3 * size.width * size.height);
  }

  static async create(params: DetectorCreateParams): Promise<ScrfdDetector> {
    const size = params.spec.inputSize;
    const { session, provider, choice } = await loadOnnxSession({
      modelPath: params.spec.modelPath,
      device: params.device,
      probeShape: [1, 3, size, size],
      calibrate: params.calibrate,
      modelSha256: params.modelSha256,
    });
    return new ScrfdDetector(session, provider, params.spec, choice);
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const W = this.inputWidth;
    const H = this.inputHeight;
    const { scale } = letterbox(image, { width: W, height: H, mean: 127.5, std: 128, bgr: false, out: this.blob, fitSize: this.fitSize });
    const input = new Tensor("float32", this.blob, [1, 3, H, W]);
    const outputs = await this.session.run({ [this.session.inputNames[0]!]: input });
    const levels = groupLevels(outputs, this.session.outputNames, ["score", "bbox", "kps"]);
    const threshold = this.spec.scoreThreshold;

    const candidates: Detection[] = [];
    for (const level of levels) {
      const { cols, anchors } = anchorsPerLocation(level, W, H);
      const stride = level.stride;
      const scores = level.tensors.score!;
      const boxes = level.tensors.bbox!;
      const kps = level.tensors.kps!;
      const points = kps.length / level.count / 2;
      for (let k = 0; k < level.count; k++) {
        const score = scores[k]!;
        if (!(score >= threshold)) continue;
        const location = Math.floor(k / anchors);
        const cx = (location % cols) * stride;
        const cy = Math.floor(location / cols) * stride;
        const b = k * 4;
        const box: [number, number, number, number] = [
          (cx - boxes[b]! * stride) / scale,
          (cy - boxes[b + 1]! * stride) / scale,
          (cx + boxes[b + 2]! * stride) / scale,
          (cy + boxes[b + 3]! * stride) / scale,
        ];
        const landmarks: [number, number][] = [];
        for (let p = 0; p < points; p++) {
          const o = (k * points + p) * 2;
          landmarks.push([(cx + kps[o]! * stride) / scale, (cy + kps[o + 1]! * stride) / scale]);
        }
        candidates.push({ score, box, landmarks });
      }
    }
    for (const out of Object.values(outputs)) out.dispose?.();
    candidates.sort((a, b) => b.score - a.score);
    const kept = nonMaxSuppression(
      candidates.map((c) => c.box),
      this.spec.nmsThreshold ?? 0.4,
      true,
    );
    return kept.map((i) => candidates[i]!);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
