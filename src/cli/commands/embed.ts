/**
 * `idclusters embed`: detect, align and embed one face per image, writing `embeddings.npy` and an
 * index, with a content-addressed cache so an interrupted run resumes where it stopped.
 *
 *   idclusters embed --config configs/celebahq_512.yaml           (work dir: embeddings.npy, embeddings-index.parquet)
 *   idclusters embed --config configs/celebahq_512.yaml --shard 0/4  (rows of shard 0 of 4 -> <work dir>/partials/embed-0-of-4/; see `merge`)
 *   idclusters embed --images <folder> --detector yunet=<onnx> --recognizer <onnx> --out emb.npy --index-out index.jsonl
 */
import { resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { loadConfig } from "../../config/index.ts";
import type { DeviceChoice } from "../../faces/index.ts";
import { adHocCacheRoot, fingerprintOf, openLocalSource, parseShardSpec, prepareEmbedShard, type EmbedPlan, type EmbedShardRun } from "../../embed/index.ts";
import { planFromConfig } from "../../pipeline/embed-plan-from-config.ts";
import { pullReleaseInputs } from "../../pipeline/pull-inputs.ts";
import type { GlobalArgs } from "../global-options.ts";

interface EmbedArgs extends GlobalArgs {
  config?: string;
  images?: string;
  split: string;
  detector?: string;
  recognizer?: string;
  detSize: number;
  detThresh: number;
  nmsThresh: number;
  recMean: number[];
  recStd: number[];
  dtype: "fp32" | "fp16";
  device?: DeviceChoice;
  batchSize?: number;
  noFace?: "drop" | "keep";
  maxPixels?: number;
  resize?: number;
  decodeWorkers?: number;
  out?: string;
  indexOut?: string;
  dumpCrops?: string;
  shard?: string;
}

function normalisation(values: number[], flag: string): number | [number, number, number] {
  if (values.length === 1) return values[0]!;
  if (values.length === 3) return [values[0]!, values[1]!, values[2]!];
  throw new UsageError(`${flag} takes 1 value or 3 (R G B), got ${values.length}`);
}

function parseDetector(value: string): { kind: "scrfd" | "yunet"; modelPath: string } {
  const match = /^(scrfd|yunet)=(.+)$/.exec(value);
  if (!match) throw new UsageError(`--detector must be scrfd=<onnx> or yunet=<onnx>, got "${value}"`);
  return { kind: match[1] as "scrfd" | "yunet", modelPath: resolve(match[2]!) };
}

async function adHocPlan(args: EmbedArgs): Promise<EmbedPlan> {
  const missing = (["images", "detector", "recognizer", "out"] as const).filter((k) => !args[k]);
  if (missing.length > 0) {
    throw new UsageError(`without --config, embed needs ${missing.map((k) => `--${k}`).join(", ")}`);
  }
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
    noFace: args.noFace ?? "drop",
    maxPixels: args.maxPixels,
    transform: args.resize ? { size: args.resize, fit: "fill", kernel: "lanczos3", format: "jpeg", quality: 95 } : undefined,
    embeddingsPath: resolve(args.out!),
    indexPath: args.indexOut ? resolve(args.indexOut) : undefined,
    cacheRoot: adHocCacheRoot(args.out!, args.workDir),
  };
}

export const embedCommand: CommandModule<GlobalArgs, EmbedArgs> = {
  // command and describe: see commandCatalog in index.ts
  builder: (argv: Argv<GlobalArgs>) =>
    argv
      // `--no-face keep` is a flag of its own here, not the negation of a `--face` boolean.
      .parserConfiguration({ "boolean-negation": false })
      .option("config", { type: "string", describe: "release config; outputs go to its work dir" })
      .option("images", { type: "string", describe: "ad hoc: image folder (imagefolder layout) or Parquet snapshot/shard" })
      .option("split", { type: "string", default: "train", describe: "split of a Parquet snapshot (data/{split}-*.parquet)" })
      .option("detector", { type: "string", describe: "ad hoc: scrfd=<onnx> or yunet=<onnx>" })
      .option("recognizer", { type: "string", describe: "ad hoc: recognizer ONNX file (ArcFace-style, 112x112 input)" })
      .option("det-size", { type: "number", default: 640, describe: "ad hoc: detector input size" })
      .option("det-thresh", { type: "number", default: 0.5, describe: "ad hoc: detector score threshold" })
      .option("nms-thresh", { type: "number", default: 0.4, describe: "ad hoc: NMS IoU threshold" })
      .option("rec-mean", { type: "number", array: true, default: [127.5], describe: "ad hoc: recognizer mean (1 or 3 values, RGB)" })
      .option("rec-std", { type: "number", array: true, default: [127.5], describe: "ad hoc: recognizer std (1 or 3 values, RGB)" })
      .option("dtype", { choices: ["fp32", "fp16"] as const, default: "fp32" as const, describe: "ad hoc: recognizer precision" })
      .option("device", { choices: ["auto", "cuda", "webgpu", "cpu"] as const, describe: "where inference runs (default: config or auto)" })
      .option("batch-size", { type: "number", describe: "images per engine batch and per cache file (default: config or 32)" })
      .option("no-face", { choices: ["drop", "keep"] as const, describe: "rows without an embedding (no face, bad image): drop from the .npy, or keep as zero rows (default: config or drop)" })
      .option("max-pixels", { type: "number", describe: "reject images with more pixels (default: config or 100,000,000)" })
      .option("resize", { type: "number", describe: "ad hoc: first resize to N x N (lanczos3) and re-encode as JPEG q95, as a release would" })
      .option("decode-workers", { type: "number", describe: "decode worker threads (default: cores - 1, at most 4; 0 on 1-2 cores)" })
      .option("out", { type: "string", describe: "embeddings .npy path (default with --config: <work dir>/embeddings.npy); ad hoc, the resume cache is <work dir>/cache/embed, work dir defaulting to <out's folder>/.idclusters" })
      .option("index-out", { type: "string", describe: "index path, .jsonl or .parquet (default with --config: <work dir>/embeddings-index.parquet)" })
      .option("dump-crops", { type: "string", describe: "write the aligned 112x112 crops as PNG into this folder" })
      .option("shard", { type: "string", describe: "with --config: embed only shard i of n (rows [floor(i*N/n), floor((i+1)*N/n))) into <work dir>/partials/embed-<i>-of-<n>/; combine with `idclusters merge`" })
      .check((a) => {
        if (a.config && a.images) throw new UsageError("give either --config or --images, not both");
        if (!a.config && !a.images) throw new UsageError("give --config <file>, or --images <folder> with --detector, --recognizer and --out");
        if (a.shard !== undefined) {
          parseShardSpec(String(a.shard));
          if (!a.config) throw new UsageError("--shard needs --config (the partial goes into the config's work dir)");
          if (a.out || a.indexOut) throw new UsageError("--shard writes into <work dir>/partials/embed-<i>-of-<n>/; drop --out/--index-out (use --work-dir)");
        }
        const batchSize = a.batchSize as number | undefined;
        if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1)) {
          throw new UsageError(`--batch-size must be a positive integer, got ${batchSize}`);
        }
        return true;
      })
      .example(
        "$0 embed --images faces/ --detector yunet=yunet.onnx --recognizer arcface.onnx --out emb.npy --index-out index.jsonl",
        "embed a folder of images",
      )
      .example("$0 embed --config configs/celebahq_512.yaml", "embed the release's source into its work dir") as unknown as Argv<EmbedArgs>,
  handler: async (args) => {
    const hub = { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir };
    let plan: EmbedPlan;
    let shard: EmbedShardRun | undefined;
    if (args.config) {
      const config = await loadConfig({ file: args.config, workDir: args.workDir });
      plan = await planFromConfig(config, await pullReleaseInputs(config, hub));
      if (args.device) plan.device = args.device;
      if (args.batchSize) plan.batchSize = args.batchSize;
      if (args.noFace) plan.noFace = args.noFace;
      if (args.maxPixels) plan.maxPixels = args.maxPixels;
      if (args.out) plan.embeddingsPath = resolve(args.out);
      if (args.indexOut) plan.indexPath = resolve(args.indexOut);
      if (args.shard) {
        shard = await prepareEmbedShard({ plan, config, spec: parseShardSpec(args.shard), fingerprint: await fingerprintOf(plan) });
      }
    } else {
      plan = await adHocPlan(args);
    }
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
          keepCrops: args.dumpCrops !== undefined,
        });
        log.info(`embed: inference on ${engine.provider}`);
        return engine;
      },
      cacheRoot: plan.cacheRoot,
      fingerprint: await fingerprintOf(plan),
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
