/** Options of `idclusters embed` (handler: ../commands/embed.ts). */
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { CalibrationMode, DeviceChoice } from "../../faces/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkInteger, checkNumber, hubSettingsOf, pathProblem, type Args } from "../option-checks.ts";

export interface EmbedArgs extends GlobalArgs {
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
  calibrate?: CalibrationMode;
  noFace?: "drop" | "keep";
  maxPixels?: number;
  resize?: number;
  decodeWorkers?: number;
  out?: string;
  indexOut?: string;
  dumpCrops?: string;
  shard?: string;
}

/** `--calibrate`, shared with `run`. */
export const calibrateOption = {
  choices: ["auto", "skip", "redo"] as const,
  describe:
    "choose each model's onnxruntime options by measuring them on this CPU, once per model and machine (auto, cached in ~/.cache/idclusters), not at all (skip: onnxruntime's defaults) or again (redo); default: config or auto",
};

/** `--rec-mean` / `--rec-std`: one value for every channel, or R G B. */
export function normalisation(values: number[], flag: string): number | [number, number, number] {
  if (values.length === 1) return values[0]!;
  if (values.length === 3) return [values[0]!, values[1]!, values[2]!];
  throw new UsageError(`${flag} takes 1 value or 3 (R G B), got ${values.length}`);
}

/** `--detector scrfd=<onnx>` or `yunet=<onnx>`. */
export function parseDetector(value: string): { kind: "scrfd" | "yunet"; modelPath: string } {
  const match = /^(scrfd|yunet)=(.+)$/.exec(value);
  if (!match) throw new UsageError(`--detector must be scrfd=<onnx> or yunet=<onnx>, got "${value}"`);
  return { kind: match[1] as "scrfd" | "yunet", modelPath: resolve(match[2]!) };
}

/** The ad hoc form (no config) names its images, both models and the output. */
function checkAdHoc(a: Args): void {
  const missing = ["images", "detector", "recognizer", "out"].filter((k) => !a[k]);
  if (missing.length > 0) throw new UsageError(`without --config, embed needs ${missing.map((k) => `--${k}`).join(", ")}`);
  checkExists(a, "images", "any");
  const detector = parseDetector(String(a.detector)).modelPath;
  const problem = pathProblem(detector, "file");
  if (problem) throw new UsageError(`--detector: ${detector} ${problem}`);
  checkExists(a, "recognizer", "file");
  normalisation(a["rec-mean"] as number[], "--rec-mean");
  normalisation(a["rec-std"] as number[], "--rec-std");
}

export function embedOptions(argv: Argv<GlobalArgs>): Argv<EmbedArgs> {
  return argv
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
    .option("calibrate", { ...calibrateOption })
    .option("batch-size", { type: "number", describe: "images per engine batch and per cache file (default: config or 32)" })
    .option("no-face", { choices: ["drop", "keep"] as const, describe: "rows without an embedding (no face, bad image): drop from the .npy, or keep as zero rows (default: config or drop)" })
    .option("max-pixels", { type: "number", describe: "reject images with more pixels (default: config or 100,000,000)" })
    .option("resize", { type: "number", describe: "ad hoc: first resize to N x N (lanczos3) and re-encode as JPEG q95, as a release would" })
    .option("decode-workers", { type: "number", describe: "decode worker threads (default: cores - 1, at most 4; 0 on 1-2 cores)" })
    .option("out", { type: "string", describe: "embeddings .npy path (default with --config: <work dir>/embeddings.npy); ad hoc, the resume cache is <work dir>/cache/embed, work dir defaulting to <out's folder>/.idclusters" })
    .option("index-out", { type: "string", describe: "index path, .jsonl or .parquet (default with --config: <work dir>/embeddings-index.parquet)" })
    .option("dump-crops", { type: "string", describe: "write the aligned 112x112 crops as PNG into this folder" })
    .option("shard", { type: "string", describe: "with --config: embed only shard i of n (rows [floor(i*N/n), floor((i+1)*N/n))) into <work dir>/partials/embed-<i>-of-<n>/; combine with `idclusters merge`" })
    .check(async (a) => {
      if (a.config && a.images) throw new UsageError("give either --config or --images, not both");
      if (!a.config && !a.images) throw new UsageError("give --config <file>, or --images <folder> with --detector, --recognizer and --out");
      if (a.shard !== undefined) {
        // The embed stage's index loads the face engine's libraries: only when --shard is given.
        (await import("../../embed/index.ts")).parseShardSpec(String(a.shard));
        if (!a.config) throw new UsageError("--shard needs --config (the partial goes into the config's work dir)");
        if (a.out || a.indexOut) throw new UsageError("--shard writes into <work dir>/partials/embed-<i>-of-<n>/; drop --out/--index-out (use --work-dir)");
      }
      if (a.config) {
        checkExists(a, "config", "file");
        await hubSettingsOf(a); // the config's source and models may come from the Hub
      } else {
        checkAdHoc(a);
      }
      checkInteger(a, "det-size", 32);
      if ((a["det-size"] as number) % 32 !== 0) throw new UsageError(`--det-size must be a multiple of 32, got ${a["det-size"]}`);
      checkNumber(a, "det-thresh", { above: 0, atMost: 1 });
      checkNumber(a, "nms-thresh", { above: 0, atMost: 1 });
      checkInteger(a, "batch-size", 1, 4096);
      checkInteger(a, "max-pixels", 1);
      checkInteger(a, "resize", 16, 16384);
      checkInteger(a, "decode-workers", 0);
      return true;
    })
    .example(
      "$0 embed --images faces/ --detector yunet=yunet.onnx --recognizer arcface.onnx --out emb.npy --index-out index.jsonl",
      "embed a folder of images",
    )
    .example("$0 embed --config configs/celebahq_512.yaml", "embed the release's source into its work dir") as unknown as Argv<EmbedArgs>;
}
