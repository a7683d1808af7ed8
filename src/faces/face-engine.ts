/**
 * The face pipeline of the release (reference-pipeline.md): detect -> choose one face -> align to
 * 112x112 -> embed, for a batch of decoded images. Decoding and I/O belong to `source/` and the
 * embed command; this class only turns pixels into embeddings.
 */
import type { RgbImage } from "../common/image.ts";
import { log } from "../common/logger.ts";
import type { DetectorSpec, DeviceChoice, FaceDetector, FaceResult, RecognizerSpec } from "./types.ts";
import { ScrfdDetector } from "./scrfd-detector.ts";
import { YunetDetector } from "./yunet-detector.ts";
import { chooseFace } from "./choose-face.ts";
import { alignFace } from "./align-face.ts";
import { ArcFaceRecognizer } from "./arcface-recognizer.ts";
import type { ConcreteDevice } from "./onnx-session.ts";

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
}

export async function createDetector(spec: DetectorSpec, device: DeviceChoice): Promise<FaceDetector & { provider: ConcreteDevice }> {
  return spec.kind === "yunet" ? YunetDetector.create({ spec, device }) : ScrfdDetector.create({ spec, device });
}

export class FaceEngine {
  /** Execution provider the recognizer actually uses ("cpu", "webgpu", "cuda"). */
  readonly provider: string;
  /** Execution provider the detector actually uses (normally the same). */
  readonly detectorProvider: string;
  readonly embeddingDim: number;

  private constructor(
    private readonly detector: FaceDetector & { provider: ConcreteDevice },
    private readonly recognizer: ArcFaceRecognizer,
    private readonly keepCrops: boolean,
  ) {
    this.provider = recognizer.provider;
    this.detectorProvider = detector.provider;
    this.embeddingDim = recognizer.embeddingDim;
  }

  static async create(params: FaceEngineParams): Promise<FaceEngine> {
    const device = params.device ?? "auto";
    const recognizer = await ArcFaceRecognizer.create({ spec: params.recognizer, device, batchSize: params.batchSize });
    let detector: FaceDetector & { provider: ConcreteDevice };
    try {
      // The detector follows the provider "auto" settled on for the recognizer.
      detector = await createDetector(params.detector, device === "auto" ? recognizer.provider : device);
    } catch (error) {
      if (device !== "auto") {
        await recognizer.dispose();
        throw error;
      }
      detector = await createDetector(params.detector, "auto");
    }
    if (device === "auto") {
      log.info(`face engine: recognizer on ${recognizer.provider}, detector on ${detector.provider}`);
    }
    return new FaceEngine(detector, recognizer, params.keepCrops ?? false);
  }

  /** One result per image, in order: the chosen face, its embedding, or `no_face`. */
  async process(images: readonly RgbImage[]): Promise<FaceResult[]> {
    const results: FaceResult[] = [];
    const crops: RgbImage[] = [];
    const owners: FaceResult[] = [];
    for (const image of images) {
      const faces = await this.detector.detect(image);
      const face = chooseFace(faces, image.width, image.height);
      if (!face) {
        results.push({ status: "no_face", facesFound: 0 });
        continue;
      }
      const crop = alignFace(image, face.landmarks);
      const result: FaceResult = { status: "ok", face, facesFound: faces.length };
      if (this.keepCrops) result.crop = crop;
      results.push(result);
      crops.push(crop);
      owners.push(result);
    }
    const embeddings = await this.recognizer.embed(crops);
    embeddings.forEach((embedding, i) => {
      owners[i]!.embedding = embedding;
    });
    return results;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.recognizer.dispose()]);
  }
}
