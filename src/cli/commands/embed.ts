/**
 * `idclusters embed`: detect, align and embed one face per image, writing `embeddings.npy` and an
 * index, with a content-addressed cache so an interrupted run resumes where it stopped.
 *
 *   idclusters embed --config configs/celebahq_512.yaml           (work dir: embeddings.npy, embeddings-index.parquet)
 *   idclusters embed --config configs/celebahq_512.yaml --shard 0/4  (rows of shard 0 of 4 -> <work dir>/partials/embed-0-of-4/; see `merge`)
 *   idclusters embed --images <folder> --detector yunet=<onnx> --recognizer <onnx> --out emb.npy --index-out index.jsonl
 */
import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { loadConfig, type ReleaseConfig } from "../../config/index.ts";
import { lockWorkDir } from "../../pipeline/work-dir-lock.ts";
import { adHocCacheRoot, fingerprintOf, openLocalSource, parseShardSpec, prepareEmbedShard, type EmbedPlan, type EmbedShardRun } from "../../embed/index.ts";
import { planFromConfig } from "../../pipeline/embed-plan-from-config.ts";
import { pullReleaseInputs } from "../../pipeline/pull-inputs.ts";
import type { GlobalArgs } from "../global-options.ts";
import { normalisation, parseDetector, type EmbedArgs } from "../options/embed.ts";

/** The plan of the ad hoc form; ../options/embed.ts checked that it names every input. */
async function adHocPlan(args: EmbedArgs): Promise<EmbedPlan> {
  const detector = parseDetector(args.detector!);
  return {
    source: await openLocalSource({ path: resolve(args.images!), split: args.split }),
    detector: { ...detector, inputSize: args.detSize, scoreThreshold: args.detThresh, nmsThreshold: args.nmsThresh },
    recognizer: {
      modelPath: resolve(args.recognizer!),
      mean: normalisation(args.recMean, "--rec-mean"),
      std: normalisation(args.recStd, "--rec-std"),
      dtype: args.dtype,
    },
    device: args.device ?? "auto",
    batchSize: args.batchSize ?? 32,
    calibrate: args.calibrate ?? "auto",
    noFace: args.noFace ?? "drop",
    maxPixels: args.maxPixels,
    transform: args.resize ? { size: args.resize, fit: "fill", kernel: "lanczos3", format: "jpeg", quality: 95 } : undefined,
    embeddingsPath: resolve(args.out!),
    indexPath: args.indexOut ? resolve(args.indexOut) : undefined,
    cacheRoot: adHocCacheRoot(args.out!, args.workDir),
  };
}

export const embedCommand: CommandModule<GlobalArgs, EmbedArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/embed.ts
  handler: async (args) => {
    const hub = { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir };
    let plan: EmbedPlan;
    let config: ReleaseConfig | undefined;
    if (args.config) {
      config = await loadConfig({ file: args.config, workDir: args.workDir });
      // One process per work dir (issue #10), the lock dropped when the process exits; shards of
      // one work dir may run side by side (each writes its own partial; the cache is shared safely).
      if (!args.shard) await lockWorkDir({ workDir: config.workDir, command: "embed" });
      plan = await planFromConfig(config, await pullReleaseInputs(config, hub));
      if (args.device) plan.device = args.device;
      if (args.batchSize) plan.batchSize = args.batchSize;
      if (args.calibrate) plan.calibrate = args.calibrate;
      if (args.noFace) plan.noFace = args.noFace;
      if (args.maxPixels) plan.maxPixels = args.maxPixels;
      if (args.out) plan.embeddingsPath = resolve(args.out);
      if (args.indexOut) plan.indexPath = resolve(args.indexOut);
    } else {
      plan = await adHocPlan(args);
    }
    // Hashes both model files: once, for the cache, the shard manifest and the calibration key.
    const fingerprint = await fingerprintOf(plan);
    const shard: EmbedShardRun | undefined =
      config && args.shard ? await prepareEmbedShard({ plan, config, spec: parseShardSpec(args.shard), fingerprint }) : undefined;
    log.info(`embed: ${plan.source.description}`);
    // Loaded on use: the face engine (transformers.js + onnxruntime) costs every other command ~1.5 s.
    const { runEmbed } = await import("../../embed/index.ts");
    const summary = await runEmbed({
      source: plan.source,
      createEngine: async () => {
        const { FaceEngine } = await import("../../faces/index.ts");
        const engine = await FaceEngine.create({
          detector: plan.detector,
          recognizer: plan.recognizer,
          device: plan.device,
          batchSize: plan.batchSize,
          calibrate: plan.calibrate,
          modelSha256: { detector: fingerprint.detectorSha256, recognizer: fingerprint.recognizerSha256 },
          keepCrops: args.dumpCrops !== undefined,
        });
        log.info(`embed: inference on ${engine.provider}`);
        return engine;
      },
      cacheRoot: plan.cacheRoot,
      fingerprint,
      batchSize: plan.batchSize,
      noFace: plan.noFace,
      embeddingsPath: plan.embeddingsPath,
      indexPath: plan.indexPath,
      decode: { maxPixels: plan.maxPixels, transform: plan.transform },
      decodeWorkers: args.decodeWorkers,
      dumpCropsDir: args.dumpCrops ? resolve(args.dumpCrops) : undefined,
    });
    if (shard) {
      await shard.finish(summary);
      log.info(`embed: shard ${args.shard} = rows ${shard.rows.start}..${shard.rows.end - 1}, partial in ${shard.dir}`);
    }
    log.info(
      `embed: ${summary.rows} rows: ${summary.ok} ok, ${summary.noFace} no face, ${summary.errors} errors; ` +
        `${summary.cached} from cache, ${summary.computed} computed${summary.computed > 0 ? ` on ${summary.provider}` : ""}; ` +
        `${summary.embeddings} x ${summary.embeddingDim} embeddings in ${summary.seconds.toFixed(1)} s (${summary.imagesPerSecond.toFixed(1)} images/s)`,
    );
    if (args.json) process.stdout.write(JSON.stringify(shard ? { ...summary, partialDir: shard.dir, shardRows: shard.rows } : summary, null, 2) + "\n");
    else process.stdout.write((shard ? shard.dir : summary.embeddingsPath) + "\n");
  },
};
