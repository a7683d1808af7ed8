/**
 * YuNet face detector (OpenCV Zoo 2023mar and the dynamic-size export), decoded as OpenCV's
 * FaceDetectorYN (modules/objdetect/src/face_detect.cpp) does: BGR 0-255 blob (reference-pipeline.md
 * "YuNet"), one prior per grid cell, score = sqrt(clamp(cls) * clamp(obj)),
 * centre = (col + dx, row + dy) * stride, size = exp(dw, dh) * stride,
 * keypoint = (offset + (col, row)) * stride; NMS on integer boxes without the +1 (cv::dnn::NMSBoxes).
 * The image is letterboxed to the top-left like SCRFD so both detectors see the same pixels.
 */
import { Tensor } from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-node";
import type { RgbImage } from "../common/image.ts";
import type { Detection, DetectorSpec, FaceDetector } from "./types.ts";
import { letterbox } from "./letterbox.ts";
import { nonMaxSuppression } from "./nms.ts";
import { anchorsPerLocation, groupLevels } from "./detector-outputs.ts";
import { loadOnnxSession, type ConcreteDevice } from "./onnx-session.ts";
import { modelInputSize } from "./model-input-size.ts";
import type { SessionChoice } from "./session-options.ts";
import type { DetectorCreateParams } from "./scrfd-detector.ts";

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export class YunetDetector implements FaceDetector {
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
    // FaceDetectorYN pads its input to a multiple of 32.
    const size = modelInputSize(session, spec.inputSize, 32);
    this.inputWidth = size.width;
    this.inputHeight = size.height;
    this.fitSize = size.fitSize;
    this.blob = new Float32Array(3 * size.width * size.height);
  }

  static async create(params: DetectorCreateParams): Promise<YunetDetector> {
    const size = Math.ceil(params.spec.inputSize / 32) * 32;
    const { session, provider, choice } = await loadOnnxSession({
      modelPath: params.spec.modelPath,
      device: params.device,
      probeShape: [1, 3, size, size],
      calibrate: params.calibrate,
      modelSha256: params.modelSha256,
    });
    return new YunetDetector(session, provider, params.spec, choice);
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const W = this.inputWidth;
    const H = this.inputHeight;
    const { scale } = letterbox(image, { width: W, height: H, mean: 0, std: 1, bgr: true, out: this.blob, fitSize: this.fitSize });
    const input = new Tensor("float32", this.blob, [1, 3, H, W]);
    const outputs = await this.session.run({ [this.session.inputNames[0]!]: input });
    const levels = groupLevels(outputs, this.session.outputNames, ["cls", "obj", "bbox", "kps"]);
    const threshold = this.spec.scoreThreshold;

    const candidates: Detection[] = [];
    const intBoxes: [number, number, number, number][] = [];
    for (const level of levels) {
      const { cols, anchors } = anchorsPerLocation(level, W, H);
      const stride = level.stride;
      const cls = level.tensors.cls!;
      const obj = level.tensors.obj!;
      const bbox = level.tensors.bbox!;
      const kps = level.tensors.kps!;
      const points = kps.length / level.count / 2;
      for (let k = 0; k < level.count; k++) {
        const score = Math.sqrt(clamp01(cls[k]!) * clamp01(obj[k]!));
        // cv::dnn::NMSBoxes keeps scores strictly above the threshold.
        if (!(score > threshold)) continue;
        const location = Math.floor(k / anchors);
        const col = location % cols;
        const row = Math.floor(location / cols);
        const b = k * 4;
        const cx = (col + bbox[b]!) * stride;
        const cy = (row + bbox[b + 1]!) * stride;
        const w = Math.exp(bbox[b + 2]!) * stride;
        const h = Math.exp(bbox[b + 3]!) * stride;
        const x1 = cx - w / 2;
        const y1 = cy - h / 2;
        const landmarks: [number, number][] = [];
        for (let p = 0; p < points; p++) {
          const o = (k * points + p) * 2;
          landmarks.push([((kps[o]! + col) * stride) / scale, ((kps[o + 1]! + row) * stride) / scale]);
        }
        candidates.push({ score, box: [x1 / scale, y1 / scale, (x1 + w) / scale, (y1 + h) / scale], landmarks });
        // FaceDetectorYN runs NMS on Rect2i(int(x1), int(y1), int(w), int(h)) in blob pixels.
        const ix = Math.trunc(x1);
        const iy = Math.trunc(y1);
        intBoxes.push([ix, iy, ix + Math.trunc(w), iy + Math.trunc(h)]);
      }
    }
    for (const out of Object.values(outputs)) out.dispose?.();
    const order = candidates.map((_, i) => i).sort((a, b) => candidates[b]!.score - candidates[a]!.score);
    const kept = nonMaxSuppression(
      order.map((i) => intBoxes[i]!),
      this.spec.nmsThreshold ?? 0.4,
      false,
    );
    return kept.map((k) => candidates[order[k]!]!);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
