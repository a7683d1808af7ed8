/**
 * Step 3b, overrides (issue #13, "Applying corrections"): DBSCAN's labels (`labels-sklearn.npy`,
 * noise policy applied; `label-rows.npy` maps them to embeddings rows under `noise: drop`) -> the
 * labels with a person's review decisions applied (`labels-reviewed.npy`, same rows) and the
 * embeddings rows they exclude (`excluded-rows.npy`). Runs only with `clustering.overrides`.
 *
 * The decisions name images by the SHA-256 of their source bytes, so each label row is keyed
 * through the embed index (`embedding_row` -> `image_sha256`): a new source revision, re-sharding
 * or renumbering leaves every decision pointing at the same images. `labels-sklearn.npy` stays
 * as DBSCAN wrote it: a rebuild is proven against a published release by the adjusted Rand index
 * of the clustering's labels (../shared/docs/reference-pipeline.md, "Checking against a published
 * release"), which a review's corrections must not blur. Cached by the stage manifest, whose input hash holds the decision
 * file's SHA-256 beside the labels' and the index's.
 *
 * What cannot be applied (an image no longer in the source, a contradiction) is reported by
 * name, on every run, cached or not; `run --strict-overrides` turns it into a failure.
 */
import { rename } from "node:fs/promises";
import { basename } from "node:path";
import { sha256OfFile } from "../common/file-hashes.ts";
import { log } from "../common/logger.ts";
import { readNpy, writeNpy } from "../common/npy.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { CardReview } from "../card/index.ts";
import { applyOverrides, type ApplyOverridesResult, type OverrideDecision, type OverrideProblem, type ReadOverridesResult } from "../identities/index.ts";
import { readEmbedIndex, type EmbedIndexEntry } from "../release/index.ts";
import { hashInputs, hashOutputs, validManifest, writeManifest, type StageOutcome } from "./stage-manifest.ts";
import { workFiles } from "./work-files.ts";

/** What the review did to this build: `run --json` prints it; the card publishes its CardReview part. */
export interface ReviewReport {
  /** The decisions file (absolute path, as the config resolved it). */
  file: string;
  sha256: string;
  decisions: number;
  applied: CardReview["applied"];
  appliedIds: string[];
  checkedIdentities: number;
  excludedImages: number;
  /** Of those, images without a detected face (kept by `faces.no_face: keep`); absent when none. */
  excludedWithoutFace?: number;
  /** Every decision image that could not be applied, by name (decision id and position, file, SHA). */
  problems: OverrideProblem[];
}

export interface OverridesStepInput {
  config: ReleaseConfig;
  /** The decisions file, read (and checked) before any work. */
  overrides: ReadOverridesResult;
  /** The cluster step's outputs. */
  sklearnLabelsPath: string;
  labelRowsPath?: string;
  /** The embed index (embeddings-index.parquet). */
  indexPath: string;
  toolVersion: string;
}

export interface OverridesStepOutput {
  outcome: StageOutcome;
  /** Reviewed labels (same rows as labels-sklearn.npy). */
  labelsPath: string;
  /** Embeddings rows excluded (int64). */
  excludedRowsPath: string;
  report: ReviewReport;
  /** The decisions, for the changelog's manual part (identities step). */
  decisions: OverrideDecision[];
}

export interface ReviewedLabels {
  /**
   * The decisions applied to every row a decision can reach: the label rows first (same order as
   * `labels`), then each image without a face that has an embeddings row but no label row (`faces.no_face:
   * keep` under `clustering.noise: drop`: DBSCAN made its all-zero row noise, which was dropped, yet the
   * release keeps the image with a null cluster_id, so an exclusion must still reach it).
   */
  result: ApplyOverridesResult;
  /** The reviewed labels of the label rows only (`labels-reviewed.npy`: same rows as labels-sklearn.npy). */
  labels: BigInt64Array;
  /** Embeddings row of each row of `result`. */
  embeddingRows: number[];
  /** Embed index entry of each row of `result` (undefined: the index lists none, a work dir out of step). */
  entries: (EmbedIndexEntry | undefined)[];
  /** Embeddings rows excluded, ascending (`excluded-rows.npy`: the export excludes by embeddings row). */
  excludedEmbeddingRows: number[];
  /** Of the images excluded, those without a face (their all-zero rows were clustered: the card's DBSCAN counts need them). */
  excludedWithoutFace: number;
}

/**
 * Applies the decisions to DBSCAN's labels, each label row keyed by its image's SHA-256 through
 * the embed index. Shared by this step and `verify --config` (verify-release-folder.ts), which
 * recomputes it to check the published partition.
 */
export function reviewLabels(params: {
  labels: BigInt64Array;
  /** Embeddings row of each label (`label-rows.npy`, noise dropped); undefined: label i is row i. */
  labelRows?: ArrayLike<bigint | number>;
  index: readonly EmbedIndexEntry[];
  decisions: readonly OverrideDecision[];
}): ReviewedLabels {
  const { labels, index } = params;
  const byEmbedding = new Map<number, EmbedIndexEntry>();
  for (const entry of index) if (entry.embeddingRow !== null) byEmbedding.set(entry.embeddingRow, entry);
  const embeddingRows = Array.from({ length: labels.length }, (_, i) => (params.labelRows ? Number(params.labelRows[i]) : i));
  // Images without a face whose zero row has no label row (dropped as noise): rows of their own,
  // without an identity (label -1), after the label rows.
  const labelled = new Set(embeddingRows);
  const extra = index.filter((entry) => entry.status === "no_face" && entry.embeddingRow !== null && !labelled.has(entry.embeddingRow));
  embeddingRows.push(...extra.map((entry) => entry.embeddingRow!));
  const allLabels = new BigInt64Array(embeddingRows.length).fill(-1n);
  allLabels.set(labels);
  const entries = embeddingRows.map((row) => byEmbedding.get(row));
  // An unreadable image's zero row (`no_face: keep`) is never in the release: no decision can reach it.
  const keys = entries.map((entry) => (entry && entry.status !== "error" ? entry.imageSha256 : null));
  const noIdentity = Uint8Array.from(entries, (entry) => (entry?.status === "no_face" ? 1 : 0));
  const keyed = new Set(keys.filter((key): key is string => key !== null));
  const absent = new Map<string, string>();
  const absentNames = new Map<string, string>();
  for (const entry of index) {
    if (!entry.imageSha256 || keyed.has(entry.imageSha256) || absent.has(entry.imageSha256)) continue;
    absentNames.set(entry.imageSha256, entry.fileName);
    absent.set(
      entry.imageSha256,
      entry.status === "ok"
        ? "was left out of this build as DBSCAN noise (clustering.noise: drop)"
        : entry.status === "no_face"
          ? entry.embeddingRow === null
            ? "has no detected face and is not in this build (faces.no_face: drop)"
            : "has no detected face and no row in this build's labels"
          : `could not be read or decoded (${entry.reason ?? "error"}) and is not in this build`,
    );
  }
  const result = applyOverrides({
    labels: allLabels,
    keys,
    fileNames: entries.map((entry) => entry?.fileName ?? ""),
    noIdentity,
    absent,
    absentNames,
    decisions: params.decisions,
  });
  const excludedEmbeddingRows = embeddingRows.filter((_, i) => result.excluded[i] === 1).sort((a, b) => a - b);
  const excludedWithoutFace = entries.filter((entry, i) => result.excluded[i] === 1 && entry?.status === "no_face").length;
  return { result, labels: result.labels.slice(0, labels.length), embeddingRows, entries, excludedEmbeddingRows, excludedWithoutFace };
}

function int64(data: ArrayLike<unknown>): BigInt64Array {
  return data instanceof BigInt64Array ? data : BigInt64Array.from(data as ArrayLike<number>, (v) => BigInt(v));
}

/** The report of an application: counts by kind (a split with `into` counts as a move). */
export function reviewReport(
  file: string,
  sha256: string,
  decisions: readonly OverrideDecision[],
  result: ApplyOverridesResult,
  excludedWithoutFace = 0,
): ReviewReport {
  const applied = new Set(result.appliedIds);
  const moves = decisions.filter((d) => applied.has(d.id) && d.action === "split" && d.into !== undefined).length;
  return {
    file,
    sha256,
    decisions: decisions.length,
    applied: { merge: result.applied.merge, split: result.applied.split - moves, move: moves, exclude: result.applied.exclude, check: result.applied.check },
    appliedIds: result.appliedIds,
    checkedIdentities: result.checkedIdentities,
    excludedImages: result.excludedRows,
    ...(excludedWithoutFace > 0 && { excludedWithoutFace }),
    problems: result.problems,
  };
}

/** The report as the card publishes it: counts and decision ids, no local path, no names of people. */
export function cardReviewOf(report: ReviewReport): CardReview {
  return {
    sha256: report.sha256,
    decisions: report.decisions,
    applied: report.applied,
    appliedIds: report.appliedIds,
    checkedIdentities: report.checkedIdentities,
    excludedImages: report.excludedImages,
    ...(report.excludedWithoutFace !== undefined && report.excludedWithoutFace > 0 && { excludedWithoutFace: report.excludedWithoutFace }),
    problems: new Set(report.problems.map((p) => p.index)).size,
  };
}

export async function overridesStep(input: OverridesStepInput): Promise<OverridesStepOutput> {
  const { config, overrides } = input;
  const workDir = config.workDir;
  const files = workFiles(workDir);
  const file = config.clustering.overrides!;
  const key = hashInputs({
    stage: "overrides",
    tool: input.toolVersion,
    sklearnLabels: await sha256OfFile(input.sklearnLabelsPath),
    labelRows: input.labelRowsPath ? await sha256OfFile(input.labelRowsPath) : null,
    index: await sha256OfFile(input.indexPath),
    overrides: overrides.sha256,
  });
  const output = { labelsPath: files.reviewedLabels, excludedRowsPath: files.excludedRows, decisions: overrides.decisions };
  const cached = await validManifest<ReviewReport>({ workDir, stage: "overrides", inputHash: key });
  let report: ReviewReport;
  let outcome: StageOutcome;
  if (cached?.extra) {
    // The path is not part of the key (a moved config finds its cache): report where it is now.
    report = { ...cached.extra, file };
    outcome = "cached";
    log.info("run: overrides: inputs unchanged, skipped");
  } else {
    const labels = int64(readNpy(input.sklearnLabelsPath).data);
    const labelRows = input.labelRowsPath ? (readNpy(input.labelRowsPath).data as ArrayLike<bigint | number>) : undefined;
    const index = await readEmbedIndex(input.indexPath);
    const reviewed = reviewLabels({ labels, labelRows, index, decisions: overrides.decisions });
    const excluded = BigInt64Array.from(reviewed.excludedEmbeddingRows, (row) => BigInt(row));
    const tmp = (path: string) => `${path}.tmp-${process.pid}`;
    writeNpy(tmp(files.reviewedLabels), { shape: [reviewed.labels.length], data: reviewed.labels });
    writeNpy(tmp(files.excludedRows), { shape: [excluded.length], data: excluded });
    for (const path of [files.reviewedLabels, files.excludedRows]) await rename(tmp(path), path);
    report = reviewReport(file, overrides.sha256!, overrides.decisions, reviewed.result, reviewed.excludedWithoutFace);
    outcome = "ran";
    await writeManifest<ReviewReport>(workDir, "overrides", {
      inputHash: key,
      ...(await hashOutputs(workDir, [basename(files.reviewedLabels), basename(files.excludedRows)])),
      extra: report,
    });
  }
  const { applied } = report;
  log.info(
    `run: overrides: ${report.appliedIds.length} of ${report.decisions} decision(s) of ${basename(file)} applied ` +
      `(${applied.merge} merge(s), ${applied.split} split(s), ${applied.move} move(s), ${applied.exclude} exclusion(s), ${applied.check} check(s)); ` +
      `${report.excludedImages} image(s) excluded, ${report.checkedIdentities} identities checked`,
  );
  for (const problem of report.problems) log.warn(`${basename(file)}: ${problem.message}`);
  return { ...output, outcome, report };
}
