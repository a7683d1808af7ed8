/**
 * `idclusters export --config`: resolves a release config into the inputs of `exportRelease` (the
 * source the embed stage read, its index, the cluster labels and statistics in the work directory,
 * the model files and their SHA-256) and writes the release's shards. Also returns what the card
 * stage needs, so the command can write README.md and assets/ next to the shards.
 *
 * The labels are `labels.npy` as the last step that wrote it left it. When that was `run`'s
 * identities step with a review (`clustering.overrides`), the exclusions and the review's numbers
 * it recorded with them (stages/ids.json, `labels-excluded.npy`) go with it, so `export --config`
 * leaves out exactly what `run` left out. The config decides, not the record: with
 * `clustering.overrides`, labels.npy must be the labels reviewed with that file as it is now (its
 * SHA-256 is the record's), else the export stops (exit 2: `idclusters run` first), since a
 * labels.npy rewritten since (`idclusters cluster --config`) or reviewed with another version of
 * the decisions would publish what the file no longer says; without it, labels.npy must not be
 * reviewed labels (a review the card would not mention).
 */
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { UsageError } from "../common/errors.ts";
import { readNpy, readNpyHeader } from "../common/npy.ts";
import { sha256OfFile } from "../common/file-hashes.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { planFromConfig } from "./embed-plan-from-config.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";
import { workFiles } from "./work-files.ts";
import { isParquetSnapshot, listImageFolder, selectSplitShards } from "../source/index.ts";
import {
  exportRelease,
  inferredPassThroughColumns,
  parquetPassThroughColumns,
  readEmbedIndex,
  type ExportReleaseResult,
  type ReleaseColumn,
} from "../release/index.ts";
import type { CardModel, CardReview } from "../card/index.ts";
import { readManifest } from "./stage-manifest.ts";

/** The models the labels depend on, as the card lists them. */
export type ReleaseModelInfo = CardModel;

export interface ExportFromConfigParams {
  config: ReleaseConfig;
  /** Release folder to write. */
  outDir: string;
  /** The config's pulled inputs (pull-inputs.ts). */
  inputs: ReleaseInputs;
  /**
   * Embeddings rows the review excluded, and its numbers, given by the caller (the identities
   * step's provisional export, before its record exists); default: those recorded with labels.npy.
   */
  excludedRows?: BigInt64Array;
  review?: CardReview;
  /**
   * Without `excludedRows`: the SHA-256 of the decisions file the recorded review must have used
   * (`run`: the file it read at its start, so a decision written meanwhile changes nothing);
   * default: the config's `clustering.overrides` as it is now.
   */
  overridesSha256?: string;
  onProgress?: (phase: "read" | "write", done: number, total: number) => void;
}

export interface ExportFromConfigResult extends ExportReleaseResult {
  /** The cluster stage's statistics JSON, as written. */
  clusterStats: unknown;
  models: ReleaseModelInfo[];
  source: { repo?: string; revision?: string; path?: string; split: string };
  /** The review the labels went through, for the card (absent: none). */
  review?: CardReview;
}

/** Why labels.npy is not the reviewed labels the config asks for, or the review that goes with it. */
type RecordedReview = { excludedRows: BigInt64Array; review: CardReview } | { missing: string };

/** The review recorded with labels.npy by the identities step, if labels.npy is still the file it wrote. */
async function recordedReview(workDir: string): Promise<RecordedReview> {
  const files = workFiles(workDir);
  const manifest = await readManifest<{ review?: CardReview }>(workDir, "ids");
  const review = manifest?.extra?.review;
  const labelsSha = manifest?.outputs["labels.npy"];
  const excludedSha = manifest?.outputs["labels-excluded.npy"];
  if (!manifest || !labelsSha) return { missing: "no idclusters run recorded it" };
  if (!existsSync(files.labels)) return { missing: "it is missing" };
  if ((await sha256OfFile(files.labels)) !== labelsSha) return { missing: "it was rewritten since idclusters run wrote it (idclusters cluster --config?)" };
  if (!review || !excludedSha) return { missing: "the last idclusters run applied no review" };
  if (!existsSync(files.labelsExcluded) || (await sha256OfFile(files.labelsExcluded)) !== excludedSha) {
    return { missing: `${basename(files.labelsExcluded)}, the exclusions that go with it, is missing or was changed` };
  }
  return { excludedRows: readInt64Npy(files.labelsExcluded, "written by idclusters run"), review };
}

/**
 * The review labels.npy went through, as the config asks for it (see the file comment).
 * `overridesSha256`: the decisions file's SHA-256 the labels must have been reviewed with (`run`
 * passes the one it read at its start); undefined: the file as it is now.
 */
async function reviewForConfig(config: ReleaseConfig, overridesSha256: string | undefined): Promise<{ excludedRows: BigInt64Array; review: CardReview } | undefined> {
  const files = workFiles(config.workDir);
  const record = await recordedReview(config.workDir);
  const file = config.clustering.overrides;
  const runFirst = `run idclusters run --config ${config.file} first`;
  if (!file) {
    if ("missing" in record) return undefined;
    throw new UsageError(
      `${files.labels} holds labels reviewed with a decisions file (SHA-256 ${record.review.sha256.slice(0, 12)}), but ${config.file} names no clustering.overrides: ` +
        `the release would carry a review its card does not state; ${runFirst} (or idclusters cluster --config ${config.file} for DBSCAN's labels)`,
    );
  }
  let sha = overridesSha256;
  if (sha === undefined) {
    try {
      sha = await sha256OfFile(file);
    } catch (error) {
      throw new UsageError(`${config.file}: clustering.overrides: cannot read the overrides file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  if ("missing" in record) {
    throw new UsageError(`${files.labels} is not the labels reviewed with ${basename(file)} (${config.file}: clustering.overrides): ${record.missing}; ${runFirst}`);
  }
  if (record.review.sha256 !== sha) {
    throw new UsageError(
      `${files.labels} was reviewed with another version of ${basename(file)} (SHA-256 ${record.review.sha256.slice(0, 12)}; the file now has ${sha.slice(0, 12)}): ${runFirst}`,
    );
  }
  return record;
}

function readInt64Npy(path: string, what: string): BigInt64Array {
  if (!existsSync(path)) throw new UsageError(`${path} is missing: ${what}`);
  const array = readNpy(path);
  if (array.dtype !== "int64" && array.dtype !== "int32") throw new UsageError(`${path}: expected int64 labels, got ${array.dtype}`);
  if (array.shape.length !== 1) throw new UsageError(`${path}: expected a 1-D array, got shape (${array.shape.join(", ")})`);
  return array.data instanceof BigInt64Array ? array.data : BigInt64Array.from(array.data as Int32Array, (v) => BigInt(v));
}

async function passThroughColumns(sourcePath: string, config: ReleaseConfig): Promise<ReleaseColumn[]> {
  const names = config.source.passThrough;
  if (names.length === 0) return [];
  const info = await stat(sourcePath);
  const parquet =
    config.source.format === "parquet" || (config.source.format === "auto" && (info.isFile() || (await isParquetSnapshot(sourcePath))));
  if (parquet) {
    const files = info.isFile() ? [sourcePath] : await selectSplitShards({ snapshotDir: sourcePath, split: config.source.split });
    return parquetPassThroughColumns({ file: files[0]!, names });
  }
  const entries = await listImageFolder({ folder: sourcePath });
  return inferredPassThroughColumns({ names, rows: entries.map((e) => e.extra) });
}

export async function exportFromConfig(params: ExportFromConfigParams): Promise<ExportFromConfigResult> {
  const { config } = params;
  const files = workFiles(config.workDir);
  if (!existsSync(files.index)) throw new UsageError(`${files.index} is missing: run idclusters embed --config ${config.file} first`);
  if (!existsSync(files.stats)) throw new UsageError(`${files.stats} is missing: run idclusters cluster --config ${config.file} first`);
  // Before any work: the labels must be those the config's review (or none) gives.
  const reviewed = params.excludedRows ? { excludedRows: params.excludedRows, review: params.review } : await reviewForConfig(config, params.overridesSha256);
  const { inputs } = params;
  const plan = await planFromConfig(config, inputs);
  const sourcePath = inputs.sourcePath;
  const index = await readEmbedIndex(files.index);
  const labels = readInt64Npy(files.labels, `run idclusters cluster --config ${config.file} first`);
  const embeddingRows = existsSync(files.embeddings) ? readNpyHeader(files.embeddings).shape[0] : undefined;
  let labelRows: BigInt64Array | undefined;
  if (embeddingRows !== undefined && labels.length !== embeddingRows) {
    labelRows = readInt64Npy(
      files.labelRows,
      `labels.npy has ${labels.length} rows for ${embeddingRows} embeddings (noise dropped?); ` +
        `run idclusters cluster --config ${config.file} --rows-out ${files.labelRows}`,
    );
    if (labelRows.length !== labels.length) throw new UsageError(`${files.labelRows} has ${labelRows.length} rows, labels.npy ${labels.length}`);
  }
  const statsText = await readFile(files.stats, "utf8");
  let clusterStats: unknown;
  try {
    clusterStats = JSON.parse(statsText);
  } catch {
    throw new UsageError(`${files.stats} is not valid JSON`);
  }

  const result = await exportRelease({
    source: plan.source,
    index,
    labels,
    labelRows,
    ...(reviewed && { excludedRows: reviewed.excludedRows }),
    passThrough: await passThroughColumns(sourcePath, config),
    transform: plan.transform,
    maxPixels: plan.maxPixels,
    outDir: params.outDir,
    split: config.release.split,
    maxShardSize: config.release.maxShardSize,
    rowGroupSize: config.release.rowGroupSize,
    spoolPath: files.spool,
    onProgress: params.onProgress,
  });

  const model = (role: "detector" | "recognizer", sha256: string): ReleaseModelInfo => {
    const m = role === "detector" ? config.detector : config.recognizer;
    // A local file is named by what it is (base name + SHA-256), never by where it lies on the build
    // machine: card-inputs.json and the card are published (issue #10).
    const where = m.location.kind === "hub" ? { repo: m.location.repo, file: m.location.file, revision: m.location.revision } : { path: basename(m.location.path) };
    return {
      role,
      ...(role === "detector" && { kind: config.detector.kind }),
      ...where,
      sha256,
      ...(m.license !== undefined && { license: m.license }),
    };
  };
  const models = [
    model("detector", inputs.detector.sha256),
    model("recognizer", inputs.recognizer.sha256),
  ];
  const location = config.source.location;
  const source =
    location.kind === "hub"
      ? { repo: location.repo, revision: location.revision, split: config.source.split }
      : { path: basename(location.path), split: config.source.split };
  return { ...result, clusterStats, models, source, ...(reviewed?.review && { review: reviewed.review }) };
}
