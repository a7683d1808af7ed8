/**
 * Step 4, identities: DBSCAN's labels, reviewed when the config has `clustering.overrides`
 * (overrides-step.ts) -> the labels the release publishes (`labels.npy`, with the review's
 * exclusions beside it in `labels-excluded.npy`). With `id_policy: stable` the clusters are mapped
 * onto the previous release's `cluster_id`s by image SHA-256 overlap (identities/stable-ids.ts),
 * so stable ids are computed on the reviewed labels, and a changelog is kept for the card; with a
 * review the changelog also lists the decisions new since the previous release (its published
 * card-inputs.json names those it applied) and marks the merges and splits they explain.
 *
 * The previous release is decided here from the target's one reading (read-target.ts):
 * - the head is our own release of these very inputs (its published `card-inputs.json` carries our
 *   build key): its own previous release is ours too, so the card and ids come out the same again
 *   and nothing is published, whatever the local state (a fresh work dir, a CI cache miss);
 * - the head holds this split's data: it is the previous release;
 * - otherwise (no repo, an empty repo, only other files): there is none (issue #10: an empty
 *   repo left by a killed push is not a previous release).
 */
import { copyFile, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { log } from "../common/logger.ts";
import { readNpy, writeNpy } from "../common/npy.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { CardChangelog, CardReview } from "../card/index.ts";
import { pullSnapshot, type HubSettings } from "../hub/index.ts";
import { manualChanges, mapStableIds, type OverrideDecision } from "../identities/index.ts";
import { readEmbedIndex, readReleaseRows } from "../release/index.ts";
import { exportFromConfig } from "./export-from-config.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";
import type { TargetState } from "./read-target.ts";
import { hashInputs, hashOutputs, validManifest, writeManifest, type StageOutcome } from "./stage-manifest.ts";
import { workFiles } from "./work-files.ts";

export interface IdentitiesStepInput {
  config: ReleaseConfig;
  inputs: ReleaseInputs;
  /** build-key.ts: everything the release depends on but the previous release. */
  buildKey: string;
  target: TargetState;
  idPolicy: "sklearn-order" | "stable";
  /** DBSCAN's labels (cluster step), or the reviewed ones (overrides step). */
  labelsPath: string;
  /** With `clustering.overrides`: the overrides step's exclusions, decisions and summary. */
  review?: { excludedRowsPath: string; decisions: readonly OverrideDecision[]; card: CardReview };
  settings: HubSettings;
  fetch: typeof fetch;
}

export interface IdentitiesStepOutput {
  outcome: StageOutcome;
  labelsPath: string;
  /** The previous release's commit, or null for a first release. */
  previousCommit: string | null;
  changelog: CardChangelog | null;
  /**
   * The head is our own release of these inputs: its card (with any edit made on the Hub since)
   * is the one to merge into, so an unchanged rerun reproduces the head exactly.
   */
  ownHead: boolean;
}

export interface IdsExtra {
  previousCommit: string | null;
  changelog: CardChangelog | null;
  /** The review that went into labels.npy (export-from-config.ts reads it back with labels-excluded.npy). */
  review?: CardReview;
}

/** The head is our own release of these very inputs (its published card-inputs.json carries our build key). */
export function isOwnHead(target: TargetState, buildKey: string): boolean {
  return target.status === "present" && target.cardInputs?.buildKey === buildKey;
}

/** The commit of the release this build follows (see the file comment), or null. */
export function previousReleaseOf(target: TargetState, buildKey: string, split: string): string | null {
  if (target.status !== "present") return null;
  if (isOwnHead(target, buildKey)) return target.cardInputs?.previousCommit ?? null;
  const hasData = Object.keys(target.files).some((path) => path.startsWith(`data/${split}-`) && path.endsWith(".parquet"));
  return hasData ? target.head : null;
}

export async function identitiesStep(input: IdentitiesStepInput): Promise<IdentitiesStepOutput> {
  const { config, buildKey } = input;
  const workDir = config.workDir;
  const files = workFiles(workDir);
  const previousCommit = previousReleaseOf(input.target, buildKey, config.release.split);
  const ownHead = isOwnHead(input.target, buildKey);
  if (ownHead) {
    log.info(`run: ${config.release.target} already holds this release; previous release ${previousCommit ?? "(none)"}`);
  }
  const key = hashInputs({ stage: "ids", buildKey, previousCommit });
  const cached = await validManifest<IdsExtra>({ workDir, stage: "ids", inputHash: key });
  if (cached?.extra) return { outcome: "cached", labelsPath: files.labels, ...cached.extra, ownHead };

  let changelog: CardChangelog | null = null;
  await copyAtomic(input.labelsPath, files.labels);
  // The exclusions travel with the labels they belong to; none without a review (a stale file of
  // an earlier run with overrides must not leave images out of this one).
  if (input.review) await copyAtomic(input.review.excludedRowsPath, files.labelsExcluded);
  else await rm(files.labelsExcluded, { force: true });
  if (input.idPolicy === "stable" && previousCommit) changelog = await stableLabels({ ...input, previousCommit });
  const extra: IdsExtra = { previousCommit, changelog, ...(input.review && { review: input.review.card }) };
  const outputs = ["labels.npy", ...(input.review ? ["labels-excluded.npy"] : [])];
  await writeManifest<IdsExtra>(workDir, "ids", { inputHash: key, ...(await hashOutputs(workDir, outputs)), extra });
  return { outcome: "ran", labelsPath: files.labels, ...extra, ownHead };
}

/**
 * Rewrites labels.npy with stable ids: a provisional export (shards only, DBSCAN's labels) gives
 * the SHA-256 of every image as it will be published; the previous release's shards give theirs.
 */
async function stableLabels(args: IdentitiesStepInput & { previousCommit: string }): Promise<CardChangelog> {
  const { config, settings } = args;
  const files = workFiles(config.workDir);
  await rm(files.provisionalRelease, { recursive: true, force: true });
  // The exclusions are given (none without a review): the record export-from-config.ts would read
  // is the previous run's, not written yet for these labels.
  const excludedRows = args.review ? (readNpy(args.review.excludedRowsPath).data as BigInt64Array) : new BigInt64Array(0);
  const provisional = await exportFromConfig({
    config,
    outDir: files.provisionalRelease,
    inputs: args.inputs,
    excludedRows,
    ...(args.review && { review: args.review.card }),
  });
  const current = await readReleaseRows({ folder: files.provisionalRelease, split: config.release.split });
  const split = config.release.split;
  // With a review, the previous release's card-inputs.json says which decisions it applied.
  const include = [`data/${split}-*.parquet`, ...(args.review ? ["card-inputs.json"] : [])];
  const snap = await pullSnapshot({ repo: config.release.target, revision: args.previousCommit, include, ...settings, fetch: args.fetch });
  const old = await readReleaseRows({ folder: snap.snapshotPath, split: config.release.split });
  const mapped = mapStableIds({ previous: old, current });
  const labels = readNpy(args.labelsPath);
  const source = labels.data as BigInt64Array;
  const out = new BigInt64Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i]! < 0n ? source[i]! : (mapped.mapping.get(source[i]!) ?? source[i]!);
  const temporary = `${files.labels}.tmp-${process.pid}`;
  writeNpy(temporary, { shape: [out.length], data: out });
  await rename(temporary, files.labels);
  await rm(files.provisionalRelease, { recursive: true, force: true });
  log.info(`run: stable ids: ${mapped.kept} kept, ${mapped.fresh} new, ${mapped.retired} retired, ${mapped.merges.length} merge(s), ${mapped.splits.length} split(s)`);
  const changelog: CardChangelog = {
    kept: mapped.kept,
    fresh: mapped.fresh,
    retired: mapped.retired,
    merges: mapped.merges.map((m) => ({ id: String(m.id), from: m.from.map(String) })),
    splits: mapped.splits.map((s) => ({ id: String(s.id), into: s.into.map(String) })),
  };
  if (!args.review) return changelog;

  // The manual part: rows are keyed by the SHA-256 of their published bytes (what the previous
  // release can be matched by), decisions by their source bytes: the provisional export's source
  // rows and the embed index join the two.
  const index = await readEmbedIndex(files.index);
  const rowsOfImage = new Map<string, number[]>();
  provisional.sourceRows.forEach((sourceRow, i) => {
    const image = index[sourceRow]?.imageSha256;
    if (!image) return;
    const list = rowsOfImage.get(image);
    if (list) list.push(i);
    else rowsOfImage.set(image, [i]);
  });
  const previousIdsOfKey = new Map<string, bigint[]>();
  old.keys.forEach((key, i) => {
    const id = old.ids[i];
    if (id === null || id === undefined) return;
    const list = previousIdsOfKey.get(key);
    if (list) list.push(id);
    else previousIdsOfKey.set(key, [id]);
  });
  const present = new Set(index.map((entry) => entry.imageSha256).filter((sha): sha is string => sha !== null));
  const previousAppliedIds = await readFile(join(snap.snapshotPath, "card-inputs.json"), "utf8")
    .then((text) => (JSON.parse(text) as { review?: { appliedIds?: string[] } }).review?.appliedIds ?? [])
    .catch(() => [] as string[]);
  const manual = manualChanges({
    decisions: args.review.decisions,
    appliedIds: args.review.card.appliedIds,
    previousAppliedIds,
    present: (image) => present.has(image),
    // An excluded image has no row here: with unchanged bytes (images.transform: keep) its source
    // SHA-256 is its published one, which finds it in the previous release.
    previousIdsOf: (image) =>
      rowsOfImage.has(image)
        ? [...new Set(rowsOfImage.get(image)!.flatMap((i) => previousIdsOfKey.get(current.keys[i]!) ?? []))]
        : (previousIdsOfKey.get(image) ?? []),
    currentIdsOf: (image) =>
      (rowsOfImage.get(image) ?? []).flatMap((i) => {
        const id = current.ids[i];
        return id === null || id === undefined ? [] : [mapped.mapping.get(id) ?? id];
      }),
    merges: mapped.merges,
    splits: mapped.splits,
  });
  const marked = <T extends object>(entry: T, isNew: boolean | undefined, isUndone: boolean | undefined): T =>
    isNew ? { ...entry, manual: true } : isUndone ? { ...entry, manual: true, undone: true } : entry;
  changelog.merges = changelog.merges.map((m, i) => marked(m, manual.manualMerges[i], manual.undoneMerges[i]));
  changelog.splits = changelog.splits.map((s, i) => marked(s, manual.manualSplits[i], manual.undoneSplits[i]));
  changelog.manual = manual.changes.map((c) => ({ decision: c.decision, action: c.action, images: c.images, from: c.from.map(String), into: c.into.map(String) }));
  if (manual.withdrawn.length > 0) changelog.withdrawn = manual.withdrawn;
  log.info(
    `run: stable ids: ${changelog.manual.length} review decision(s) new since the previous release` +
      (manual.withdrawn.length > 0 ? `, ${manual.withdrawn.length} withdrawn (${manual.withdrawn.join(", ")})` : ""),
  );
  return changelog;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const temporary = `${to}.tmp-${process.pid}`;
  await copyFile(from, temporary);
  await rename(temporary, to);
}
