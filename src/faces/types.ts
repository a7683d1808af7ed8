/**
 * Public types of the face engine: what a caller configures (detector, recognizer, device) and
 * what it gets back per image. Numeric conventions follow
 * `../shared/docs/reference-pipeline.md` (the release pipeline this stage reproduces).
 */
import type { RgbImage } from "../common/image.ts";

export interface DetectorSpec {
  /** Model family: decides the blob (SCRFD: RGB (p-127.5)/128; YuNet: BGR 0-255) and the decoder. */
  kind: "scrfd" | "yunet";
  /** Local path of the ONNX file. */
  modelPath: string;
  /**
   * Square detection size the image is letterboxed into, e.g. 256 or 640. A model whose input is
   * fixed at a larger size (the fixture SCRFD-500M and YuNet: 640) gets the 256 px image at the
   * top-left of its zero-padded input; a dynamic YuNet rounds the size up to a multiple of 32.
   */
  inputSize: number;
  /** Keep candidates scoring at least this (the release: 0.2). */
  scoreThreshold: number;
  /** IoU above which a lower-scoring box is suppressed (default 0.4). */
  nmsThreshold?: number;
}

export interface RecognizerSpec {
  /** Local path of the ONNX file. */
  modelPath: string;
  /** Per-channel RGB normalisation `(p - mean) / std` (a number applies to all three channels). */
  mean: [number, number, number] | number;
  /** See `mean`. */
  std: [number, number, number] | number;
  /** Precision of the model file: "fp16" for a half-precision export (default "fp32"). */
  dtype?: "fp32" | "fp16";
}

/** Where inference runs. "auto" tries cuda, then webgpu, then cpu, and keeps the first that works. */
export type DeviceChoice = "auto" | "cuda" | "webgpu" | "cpu";

export interface Detection {
  /** Detector confidence in [0, 1]. */
  score: number;
  /** x1, y1, x2, y2 in image pixels. */
  box: [number, number, number, number];
  /** 5 points: right eye, left eye, nose, right mouth corner, left mouth corner (image-left first). */
  landmarks: [number, number][];
}

export interface FaceResult {
  /** "no_face" when the detector found nothing above its threshold. */
  status: "ok" | "no_face";
  /** The chosen face (see `chooseFace`). */
  face?: Detection;
  /** Faces found before the choice rule. */
  facesFound: number;
  /** L2-normalised embedding of the chosen face. */
  embedding?: Float32Array;
  /** 112x112 aligned crop, only when the engine keeps crops. */
  crop?: RgbImage;
}

/** Anything that finds faces in an image. */
export interface FaceDetector {
  detect(image: RgbImage): Promise<Detection[]>;
  dispose(): Promise<void>;
}
