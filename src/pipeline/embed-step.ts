/**
 * Step 2, embed: the config's source images -> `embeddings.npy` + `embeddings-index.parquet` in the
 * work dir. `runEmbed` caches per image itself; a Hub source at a resolved commit is immutable, so a
 * matching stage manifest skips even the cache walk (what makes an unchanged 28k rerun fast).
 */
import { relative } from "node:path";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { CalibrationMode } from "../faces/index.ts";
import { fingerprintOf, runEmbed } from "../embed/index.ts";
import { enginePlanFromConfig, planFromConfig } from "./embed-plan-from-config.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";
import { hashInputs, hashOutputs, validManifest, writeManifest, type StageOutcome } from "./stage-manifest.ts";

export interface EmbedStepInput {
  config: ReleaseConfig;
  /** The pulled source and models (pull step). */
  inputs: ReleaseInputs;
  /** idclusters version: part of the stage key. */
  toolVersion: string;
  /** Decode worker threads (default: the embed stage's own choice). */
  decodeWorkers?: number;
  /** Overrides the config's faces.calibrate (`--calibrate`). */
  calibrate?: CalibrationMode;
}

export interface EmbedStepOutput {
  outcome: StageOutcome;
  embeddingsPath: string;
  indexPath: string;
}

export async function embedStep(input: EmbedStepInput): Promise<EmbedStepOutput> {
  const { config, inputs } = input;
  const workDir = config.workDir;
  const plan = enginePlanFromConfig(config, inputs);
  const fingerprint = await fingerprintOf(plan);
  const indexPath = plan.indexPath!;
  const key = hashInputs({
    stage: "embed",
    tool: input.toolVersion,
    source: inputs.sourceCommit ?? null,
    include: config.source,
    fingerprint,
    noFace: plan.noFace,
    maxPixels: plan.maxPixels ?? null,
  });
  const outputs = [relative(workDir, plan.embeddingsPath), relative(workDir, indexPath)];
  if (inputs.sourceCommit && (await validManifest({ workDir, stage: "embed", inputHash: key }))) {
    log.info("run: embed: inputs unchanged, skipped");
    return { outcome: "cached", embeddingsPath: plan.embeddingsPath, indexPath };
  }
  const { source } = await planFromConfig(config, inputs);
  const summary = await runEmbed({
    source,
    createEngine: async () => {
      const { FaceEngine } = await import("../faces/index.ts");
      return FaceEngine.create({
        detector: plan.detector,
        recognizer: plan.recognizer,
        device: plan.device,
        batchSize: plan.batchSize,
        calibrate: input.calibrate ?? plan.calibrate,
        modelSha256: { detector: fingerprint.detectorSha256, recognizer: fingerprint.recognizerSha256 },
      });
    },
    cacheRoot: plan.cacheRoot,
    fingerprint,
    batchSize: plan.batchSize,
    noFace: plan.noFace,
    embeddingsPath: plan.embeddingsPath,
    indexPath,
    decode: { maxPixels: plan.maxPixels, transform: plan.transform },
    decodeWorkers: input.decodeWorkers,
  });
  log.info(`run: embed: ${summary.rows} rows, ${summary.cached} from cache, ${summary.computed} computed`);
  await writeManifest(workDir, "embed", { inputHash: key, ...(await hashOutputs(workDir, outputs)) });
  return { outcome: "ran", embeddingsPath: plan.embeddingsPath, indexPath };
}
