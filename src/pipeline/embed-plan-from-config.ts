/**
 * The embed plan of a release config: the config's pulled inputs (source snapshot or folder, model
 * files and their SHA-256) opened as the embed stage's typed `EmbedPlan`, with outputs and cache in
 * the config's work dir.
 */
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { openLocalSource, type EmbedPlan } from "../embed/index.ts";
import type { ImageTransform } from "../source/index.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";

function transformOf(config: ReleaseConfig): ImageTransform | undefined {
  const images = config.images;
  if (images.transform !== "resize") return undefined;
  if (images.size === undefined) throw new UsageError(`${config.file}: images.size is required with images.transform: resize`);
  return { size: images.size, fit: images.fit, kernel: images.kernel, format: images.format, quality: images.quality };
}

/**
 * The plan of `idclusters embed --config <file>`: outputs and cache in the config's work dir.
 * `inputs` are the config's pulled inputs (pull-inputs.ts).
 */
export async function planFromConfig(config: ReleaseConfig, inputs: ReleaseInputs): Promise<EmbedPlan> {
  const { source: sourceConfig } = config;
  const source = await openLocalSource({
    path: inputs.sourcePath,
    format: sourceConfig.format,
    split: sourceConfig.split,
    imageColumn: sourceConfig.imageColumn,
    passThrough: sourceConfig.passThrough,
  });
  return { source, ...enginePlanFromConfig(config, inputs) };
}

/**
 * The plan without its source: all the embed cache's fingerprint needs, so a cached run can be
 * recognised without opening the source (a Parquet source's schema check starts a reader thread).
 */
export function enginePlanFromConfig(config: ReleaseConfig, inputs: ReleaseInputs): Omit<EmbedPlan, "source"> {
  return {
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
    calibrate: config.faces.calibrate,
    noFace: config.faces.noFace,
    maxPixels: config.faces.maxPixels,
    transform: transformOf(config),
    embeddingsPath: join(config.workDir, "embeddings.npy"),
    indexPath: join(config.workDir, "embeddings-index.parquet"),
    cacheRoot: join(config.workDir, "cache", "embed"),
    modelSha256: { detector: inputs.detector.sha256, recognizer: inputs.recognizer.sha256 },
  };
}
