/**
 * The face pipeline of the release (reference-pipeline.md): detect -> choose one face -> align to
 * 112x112 -> embed. Decoding and I/O belong to `source/` and the embed command; this class only
 * turns pixels into embeddings, in two steps so that a caller can let each full image go as soon
 * as its face is cut out: `locate` (detect, choose, align one image) and `embed` (a batch of the
 * located faces through the recognizer). `process` does both for a batch.
 */
import type { RgbImage } from "../common/image.ts";
import { log } from "../common/logger.ts";
import type { DetectorSpec, DeviceChoice, FaceDetector, FaceResult, RecognizerSpec } from "./types.ts";
import { ScrfdDetector, type DetectorCreateParams } from "./scrfd-detector.ts";
import { YunetDetector } from "./yunet-detector.ts";
import { chooseFace } from "./choose-face.ts";
import { alignFace } from "./align-face.ts";
import { ArcFaceRecognizer } from "./arcface-recognizer.ts";
import type { ConcreteDevice } from "./onnx-session.ts";
import type { CalibrationMode } from "./calibrate-session.ts";
import { describeChoice, type SessionChoice } from "./session-options.ts";

export interface FaceEngineParams {
  /** Detector model and thresholds. */
  detector: DetectorSpec;
  /** Recognizer model and normalisation. */
  recognizer: RecognizerSpec;
  /** Where to run; "auto" tries cuda, webgpu, cpu (default "auto"). */
  device?: DeviceChoice;
  /** Most crops per recognizer inference (default 32; 1 for fixed-batch models). */
  batchSize?: number;
  /** Return the aligned crops in the results (for --dump-crops and tests). */
  keepCrops?: boolean;
  /**
   * Session options by measurement, per model (default "auto": measured once per model and
   * machine, then cached; "skip": onnxruntime's defaults; "redo": measure again).
   */
  calibrate?: CalibrationMode;
  /** SHA-256 of the two model files when the caller already hashed them (the calibration's cache key). */
  modelSha256?: { detector: string; recognizer: string };
}

/** A detector with the provider and session options it was opened with. */
type LoadedDetector = FaceDetector & { provider: ConcreteDevice; choice: SessionChoice };

/** One image's chosen face and its aligned crop, before the recognizer runs. */
export interface LocatedFace {
  /** The chosen face, or undefined when the detector found none. */
  face?: FaceResult["face"];
  facesFound: number;
  /** 112x112 aligned crop of the chosen face. */
  crop?: RgbImage;
}

export async function createDetector(params: DetectorCreateParams): Promise<LoadedDetector> {
  return params.spec.kind === "yunet" ? YunetDetector.create(params) : ScrfdDetector.create(params);
}

export class FaceEngine {
  /** Execution provider the recognizer actually uses ("cpu", "webgpu", "cuda"). */
  readonly provider: string;
  /** Execution provider the detector actually uses (normally the same). */
  readonly detectorProvider: string;
  readonly embeddingDim: number;

  private constructor(
    private readonly detector: LoadedDetector,
    private readonly recognizer: ArcFaceRecognizer,
    private readonly keepCrops: boolean,
  ) {
    this.provider = recognizer.provider;
    this.detectorProvider = detector.provider;
    this.embeddingDim = recognizer.embeddingDim;
  }

  static async create(params: FaceEngineParams): Promise<FaceEngine> {
    const device = params.device ?? "auto";
    const calibrate = params.calibrate ?? "auto";
    const sha = params.modelSha256;
    const recognizer = await ArcFaceRecognizer.create({ spec: params.recognizer, device, batchSize: params.batchSize, calibrate, modelSha256: sha?.recognizer });
    const detectorOn = (on: DeviceChoice) => createDetector({ spec: params.detector, device: on, calibrate, modelSha256: sha?.detector });
    let detector: LoadedDetector;
    try {
      // The detector follows the provider "auto" settled on for the recognizer.
      detector = await detectorOn(device === "auto" ? recognizer.provider : device);
    } catch (error) {
      if (device !== "auto") {
        await recognizer.dispose();
        throw error;
      }
      detector = await detectorOn("auto");
    }
    if (device === "auto") {
      log.info(`face engine: recognizer on ${recognizer.provider}, detector on ${detector.provider}`);
    }
    log.debug(`face engine: detector runs with ${describeChoice(detector.choice)}, recognizer with ${describeChoice(recognizer.choice)}`);
    return new FaceEngine(detector, recognizer, params.keepCrops ?? false);
  }

  /** Detects the faces of one image, chooses one and cuts it out; the image is not needed afterwards. */
  async locate(image: RgbImage): Promise<LocatedFace> {
    const faces = await this.detector.detect(image);
    const face = chooseFace(faces, image.width, image.height);
    if (!face) return { facesFound: 0 };
    return { face, facesFound: faces.length, crop: alignFace(image, face.landmarks) };
  }

  /** One result per located face, in order: the face and its embedding, or `no_face`. */
  async embed(located: readonly LocatedFace[]): Promise<FaceResult[]> {
    const withFace = located.filter((l) => l.crop !== undefined);
    const embeddings = await this.recognizer.embed(withFace.map((l) => l.crop!));
    let next = 0;
    return located.map((l): FaceResult => {
      if (!l.crop || !l.face) return { status: "no_face", facesFound: 0 };
      const result: FaceResult = { status: "ok", face: l.face, facesFound: l.facesFound, embedding: embeddings[next++]! };
      if (this.keepCrops) result.crop = l.crop;
      return result;
    });
  }

  /** One result per image, in order: the chosen face, its embedding, or `no_face`. */
  async process(images: readonly RgbImage[]): Promise<FaceResult[]> {
    const located: LocatedFace[] = [];
    for (const image of images) located.push(await this.locate(image));
    return this.embed(located);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.recognizer.dispose()]);
  }
}
