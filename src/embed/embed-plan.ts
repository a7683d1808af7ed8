/**
 * What `runEmbed` needs besides the images' pixels: the plan (an image source, engine specs, output
 * paths, cache root), the cache fingerprint, and the helpers that open a local source. The pipeline
 * builds a plan from a release config (pipeline/embed-plan-from-config.ts); `idclusters embed
 * --images` builds one from its flags.
 */
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";
import { sha256OfFile } from "../common/file-hashes.ts";
import type { CalibrationMode, DetectorSpec, DeviceChoice, RecognizerSpec } from "../faces/index.ts";
import { isParquetSnapshot, openImageFolder, openParquetImages, selectSplitShards } from "../source/index.ts";
import type { ImageSource, ImageTransform } from "../source/index.ts";
import type { EmbedFingerprintParams } from "./embed-cache.ts";

export interface EmbedPlan {
  source: ImageSource;
  detector: DetectorSpec;
  recognizer: RecognizerSpec;
  device: DeviceChoice;
  batchSize: number;
  /** Session options by measurement (see src/faces/calibrate-session.ts). */
  calibrate: CalibrationMode;
  noFace: "drop" | "keep";
  maxPixels?: number;
  /** Resize + re-encode before embedding (the release's `images` transform). */
  transform?: ImageTransform;
  embeddingsPath: string;
  indexPath?: string;
  cacheRoot: string;
  /** SHA-256 of the two model files when already known (hashed while pulling): saves rehashing. */
  modelSha256?: { detector: string; recognizer: string };
}

/** The cache fingerprint: model bytes and every parameter that changes a face result. */
export async function fingerprintOf(
  plan: Pick<EmbedPlan, "detector" | "recognizer" | "transform" | "modelSha256">,
): Promise<EmbedFingerprintParams> {
  const { detector, recognizer, transform } = plan;
  return {
    detectorSha256: plan.modelSha256?.detector ?? (await sha256OfModelFile(detector.modelPath)),
    recognizerSha256: plan.modelSha256?.recognizer ?? (await sha256OfModelFile(recognizer.modelPath)),
    preprocessing: {
      detector: {
        kind: detector.kind,
        inputSize: detector.inputSize,
        scoreThreshold: detector.scoreThreshold,
        nmsThreshold: detector.nmsThreshold ?? 0.4,
      },
      recognizer: { mean: recognizer.mean, std: recognizer.std, dtype: recognizer.dtype ?? "fp32" },
      transform: transform ?? null,
    },
  };
}

/** Opens a local image source: a Parquet snapshot (has data/*.parquet) or an image folder. */
export async function openLocalSource(params: {
  path: string;
  format?: "auto" | "parquet" | "imagefolder";
  split?: string;
  imageColumn?: string;
  passThrough?: string[];
}): Promise<ImageSource> {
  const info = await stat(params.path).catch(() => undefined);
  if (!info) throw new UsageError(`image source ${params.path} does not exist`);
  const format = params.format ?? "auto";
  const parquet = format === "parquet" || (format === "auto" && (info.isFile() || (await isParquetSnapshot(params.path))));
  if (!parquet) return openImageFolder({ folder: params.path });
  const files = info.isFile() ? [params.path] : await selectSplitShards({ snapshotDir: params.path, split: params.split ?? "train" });
  return openParquetImages({ files, imageColumn: params.imageColumn, passThrough: params.passThrough });
}

/** Where the ad-hoc mode keeps its cache: `<work dir>/cache/embed`, the work dir defaulting to `<out dir>/.idclusters`. */
export function adHocCacheRoot(out: string, workDir: string | undefined): string {
  return join(workDir ? resolve(workDir) : join(dirname(resolve(out)), ".idclusters"), "cache", "embed");
}

/** SHA-256 of a model file; an unreadable file is the user's to fix (exit 2), named in the message. */
export async function sha256OfModelFile(path: string): Promise<string> {
  try {
    return await sha256OfFile(path);
  } catch (error) {
    throw new UsageError(`cannot read model file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
