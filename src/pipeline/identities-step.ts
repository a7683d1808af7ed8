/**
 * Step 4, identities: DBSCAN's labels -> the labels the release publishes (`labels.npy`). With
 * `id_policy: stable` the clusters are mapped onto the previous release's `cluster_id`s by image
 * SHA-256 overlap (identities/stable-ids.ts) and a changelog is kept for the card.
 *
 * The previous release is decided here from the target's one reading (read-target.ts):
 * - the head is our own release of these very inputs (its published `card-inputs.json` carries our
 *   build key): its own previous release is ours too, so the card and ids come out the same again
 *   and nothing is published, whatever the local state (a fresh work dir, a CI cache miss);
 * - the head holds this split's data: it is the previous release;
 * - otherwise (no repo, an empty repo, only other files): there is none (issue #10: an empty
 *   repo left by a killed push is not a previous release).
 */
import { copyFile, rename, rm } from "node:fs/promises";
import { log } from "../common/logger.ts";
import { readNpy, writeNpy } from "../common/npy.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { CardChangelog } from "../card/index.ts";
import { pullSnapshot, type HubSettings } from "../hub/index.ts";
import { mapStableIds } from "../identities/index.ts";
import { readReleaseRows } from "../release/index.ts";
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
  /** DBSCAN's labels (cluster step). */
  sklearnLabelsPath: string;
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

interface IdsExtra {
  previousCommit: string | null;
  changelog: CardChangelog | null;
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
  await copyAtomic(input.sklearnLabelsPath, files.labels);
  if (input.idPolicy === "stable" && previousCommit) changelog = await stableLabels({ ...input, previousCommit });
  const extra: IdsExtra = { previousCommit, changelog };
  await writeManifest<IdsExtra>(workDir, "ids", { inputHash: key, ...(await hashOutputs(workDir, ["labels.npy"])), extra });
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
  await exportFromConfig({ config, outDir: files.provisionalRelease, inputs: args.inputs });
  const current = await readReleaseRows({ folder: files.provisionalRelease, split: config.release.split });
  const split = config.release.split;
  const snap = await pullSnapshot({ repo: config.release.target, revision: args.previousCommit, include: [`data/${split}-*.parquet`], ...settings, fetch: args.fetch });
  const old = await readReleaseRows({ folder: snap.snapshotPath, split: config.release.split });
  const mapped = mapStableIds({ previous: old, current });
  const labels = readNpy(args.sklearnLabelsPath);
  const source = labels.data as BigInt64Array;
  const out = new BigInt64Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i]! < 0n ? source[i]! : (mapped.mapping.get(source[i]!) ?? source[i]!);
  const temporary = `${files.labels}.tmp-${process.pid}`;
  writeNpy(temporary, { shape: [out.length], data: out });
  await rename(temporary, files.labels);
  await rm(files.provisionalRelease, { recursive: true, force: true });
  log.info(`run: stable ids: ${mapped.kept} kept, ${mapped.fresh} new, ${mapped.retired} retired, ${mapped.merges.length} merge(s), ${mapped.splits.length} split(s)`);
  return {
    kept: mapped.kept,
    fresh: mapped.fresh,
    retired: mapped.retired,
    merges: mapped.merges.map((m) => ({ id: String(m.id), from: m.from.map(String) })),
    splits: mapped.splits.map((s) => ({ id: String(s.id), into: s.into.map(String) })),
  };
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const temporary = `${to}.tmp-${process.pid}`;
  await copyFile(from, temporary);
  await rename(temporary, to);
}
