/**
 * Turns what the user asked for (a release config, or the ad-hoc flags of `idclusters embed`) into
 * the inputs of `runEmbed`: an image source, engine specs, the cache fingerprint and output paths.
 * Hub locations (source snapshot, model files) are pulled into the Hub cache first.
 */
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { DetectorSpec, DeviceChoice, RecognizerSpec } from "../faces/index.ts";
import type { ResolveHubSettingsParams } from "../hub/hub-settings.ts";
import { isParquetSnapshot, openImageFolder, openParquetImages, selectSplitShards } from "../source/index.ts";
import type { ImageSource, ImageTransform } from "../source/index.ts";
import type { EmbedFingerprintParams } from "./embed-cache.ts";
import { pullReleaseInputs, sha256OfModelFile, type ReleaseInputs } from "./release-inputs.ts";

export interface EmbedPlan {
  source: ImageSource;
  detector: DetectorSpec;
  recognizer: RecognizerSpec;
  device: DeviceChoice;
  batchSize: number;
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

function transformOf(config: ReleaseConfig): ImageTransform | undefined {
  const images = config.images;
  if (images.transform !== "resize") return undefined;
  if (images.size === undefined) throw new UsageError(`${config.file}: images.size is required with images.transform: resize`);
  return { size: images.size, fit: images.fit, kernel: images.kernel, format: images.format, quality: images.quality };
}

/**
 * The plan of `idclusters embed --config <file>`: outputs and cache in the config's work dir.
 * `inputs` are the config's pulled inputs when the caller already has them (`run` does).
 */
export async function planFromConfig(
  config: ReleaseConfig,
  hub: ResolveHubSettingsParams,
  inputs?: ReleaseInputs,
): Promise<EmbedPlan> {
  const { source: sourceConfig } = config;
  inputs ??= await pullReleaseInputs(config, hub);
  const source = await openLocalSource({
    path: inputs.sourcePath,
    format: sourceConfig.format,
    split: sourceConfig.split,
    imageColumn: sourceConfig.imageColumn,
    passThrough: sourceConfig.passThrough,
  });
  return {
    source,
    detector: {
      kind: config.detector.kind,
      modelPath: inputs.detector.path,
      inputSize: config.detector.inputSize,
      scoreThreshold: config.detector.scoreThreshold,
      nmsThreshold: config.detector.nmsThreshold,
    },
    recognizer: {
      modelPath: inputs.recognizer.path,
      mean: config.recognizer.mean,
      std: config.recognizer.std,
      dtype: config.recognizer.dtype,
    },
    device: config.faces.device,
    batchSize: config.faces.batchSize,
    noFace: config.faces.noFace,
    maxPixels: config.faces.maxPixels,
    transform: transformOf(config),
    embeddingsPath: join(config.workDir, "embeddings.npy"),
    indexPath: join(config.workDir, "embeddings-index.parquet"),
    cacheRoot: join(config.workDir, "cache", "embed"),
    modelSha256: { detector: inputs.detector.sha256, recognizer: inputs.recognizer.sha256 },
  };
}

/** Where the ad-hoc mode keeps its cache: `<work dir>/cache/embed`, the work dir defaulting to `<out dir>/.idclusters`. */
export function adHocCacheRoot(out: string, workDir: string | undefined): string {
  return join(workDir ? resolve(workDir) : join(dirname(resolve(out)), ".idclusters"), "cache", "embed");
}
