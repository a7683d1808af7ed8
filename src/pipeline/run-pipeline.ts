/**
 * `idclusters run`: one release from a config, as the diagram in docs/ARCHITECTURE.md draws it.
 * Each step is a function with typed input and output in its own file; each caches its outputs in
 * the work dir by the hash of its inputs (stage-manifest.ts), so a rerun recomputes only what
 * changed, and unchanged inputs give a byte-identical release folder, hence no commit.
 *
 *   (read overrides) -> validate -> lock -> pull -> embed -> cluster -> overrides -> (read target)
 *            -> identities -> export -> card -> plan -> publish
 */
import { join, resolve } from "node:path";
import { RuntimeError, UsageError } from "../common/errors.ts";
import type { CalibrationMode } from "../faces/index.ts";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { readOverrides } from "../identities/index.ts";
import type { PushFolderResult, ResolveHubSettingsParams } from "../hub/index.ts";
import { buildKeyOf } from "./build-key.ts";
import { cardStep, cardToMerge } from "./card-step.ts";
import { clusterStep } from "./cluster-step.ts";
import { embedStep } from "./embed-step.ts";
import { exportStep } from "./export-step.ts";
import { identitiesStep } from "./identities-step.ts";
import { cardReviewOf, overridesStep, type ReviewReport } from "./overrides-step.ts";
import { planStep, type ReleasePlan } from "./plan-step.ts";
import { publishStep } from "./publish-step.ts";
import { pullReleaseInputs } from "./pull-inputs.ts";
import { readTarget } from "./read-target.ts";
import { dropStaging, finishRelease, RELEASE_LOCK } from "./release-folder.ts";
import type { StageOutcome } from "./stage-manifest.ts";
import { validateRun } from "./validate-run.ts";
import { lockWorkDir, type WorkDirLock } from "./work-dir-lock.ts";

export type { ReleasePlan } from "./plan-step.ts";
export type { StageOutcome } from "./stage-manifest.ts";
export type { ReviewReport } from "./overrides-step.ts";

export interface RunPipelineParams {
  config: ReleaseConfig;
  hub: ResolveHubSettingsParams;
  /** Release folder (default `<work dir>/release`); must be new, empty, or written by idclusters. */
  outDir?: string;
  /** Publish (needs a token; checked before any work). */
  push?: boolean;
  /** Stop before pushing even with `push`. */
  dryRun?: boolean;
  /** Open the release as a pull request instead of committing to main. */
  createPr?: boolean;
  /** Tag for the published commit (default `release.tag`). */
  tag?: string;
  /** Overrides `clustering.id_policy`. */
  idPolicy?: "sklearn-order" | "stable";
  /** idclusters version (card, stage keys). */
  toolVersion: string;
  /** Embed decode worker threads (default: embed's own choice). */
  decodeWorkers?: number;
  /** Overrides the config's faces.calibrate (`--calibrate`). */
  calibrate?: CalibrationMode;
  /**
   * Fail (before the release folder is touched) when a review decision cannot be applied: an image
   * no longer in the source, a contradiction (`--strict-overrides`). Default: warn and go on.
   */
  strictOverrides?: boolean;
}

export interface RunPipelineResult {
  outDir: string;
  /** `overrides` only with `clustering.overrides`. */
  stages: Record<"embed" | "cluster" | "ids" | "export", StageOutcome> & { overrides?: StageOutcome };
  /** What the review's decisions did (`clustering.overrides`), problems by name. */
  overrides?: ReviewReport;
  plan: ReleasePlan;
  /** Set when a push was made (committed or "nothing to publish"). */
  published?: PushFolderResult;
  /** Why nothing was pushed, when nothing was. */
  notPushed?: string;
}

export async function runPipeline(params: RunPipelineParams): Promise<RunPipelineResult> {
  const { config, toolVersion } = params;
  const outDir = resolve(params.outDir ?? join(config.workDir, "release"));
  if (params.strictOverrides && !config.clustering.overrides) {
    throw new UsageError(
      `--strict-overrides checks the review's decisions, but ${config.file} sets no clustering.overrides (the decisions file); set clustering.overrides or drop --strict-overrides`,
    );
  }
  // A malformed decisions file is a usage error naming file:line, before any work.
  const overrides = config.clustering.overrides
    ? await readOverrides(config.clustering.overrides, { key: `${config.file}: clustering.overrides` })
    : undefined;
  const { settings, fetch, willPush } = await validateRun({
    config,
    hub: params.hub,
    outDir,
    outFlag: params.outDir ? "--out" : "release folder",
    push: params.push ?? false,
    dryRun: params.dryRun ?? false,
    createPr: params.createPr ?? false,
    ...((params.tag ?? config.release.tag) && { tag: params.tag ?? config.release.tag, tagFrom: params.tag ? "--tag" : `${config.file}: release.tag` }),
  });
  const lock = await lockWorkDir({ workDir: config.workDir, command: "run" });
  let releaseLock: WorkDirLock | undefined;
  try {
    const inputs = await pullReleaseInputs(config, params.hub);
    log.info(`run: source ${inputs.sourceCommit ? `${inputs.sourcePath} @ ${inputs.sourceCommit.slice(0, 12)}` : inputs.sourcePath}`);

    const embedded = await embedStep({ config, inputs, toolVersion, decodeWorkers: params.decodeWorkers, calibrate: params.calibrate });
    const clustered = await clusterStep({ config, embeddingsPath: embedded.embeddingsPath, toolVersion });

    const reviewed = overrides
      ? await overridesStep({ config, overrides, toolVersion, indexPath: embedded.indexPath, ...clustered })
      : undefined;
    if (reviewed && params.strictOverrides && reviewed.report.problems.length > 0) {
      const { problems } = reviewed.report;
      throw new RuntimeError(
        `--strict-overrides: ${problems.length} problem(s) with the decisions of ${config.clustering.overrides}; nothing was released or published:\n  ` +
          problems.slice(0, 20).map((p) => p.message).join("\n  ") +
          (problems.length > 20 ? `\n  and ${problems.length - 20} more` : ""),
      );
    }

    const idPolicy = params.idPolicy ?? config.clustering.idPolicy;
    const buildKey = await buildKeyOf({
      config,
      inputs,
      toolVersion,
      idPolicy,
      indexPath: embedded.indexPath,
      ...clustered,
      ...(overrides?.sha256 && { overridesSha256: overrides.sha256 }),
    });
    const target = await readTarget({ target: config.release.target, settings, fetch });
    if (target.status === "unreachable") {
      if (willPush) throw new RuntimeError(`cannot read ${config.release.target} on ${settings.hubUrl}: ${target.reason}`);
      log.warn(`${config.release.target} could not be read on ${settings.hubUrl} (${target.reason}): building without a previous release; the plan is not compared with the target`);
    }
    const ids = await identitiesStep({
      config,
      inputs,
      buildKey,
      target,
      idPolicy,
      labelsPath: reviewed?.labelsPath ?? clustered.sklearnLabelsPath,
      ...(reviewed && { review: { excludedRowsPath: reviewed.excludedRowsPath, decisions: reviewed.decisions, card: cardReviewOf(reviewed.report) } }),
      settings,
      fetch,
    });

    // The release folder is locked too from here (two work dirs may name the same --out); until
    // now nothing touched it, so a run killed earlier leaves no folder behind.
    releaseLock = await lockWorkDir({ workDir: outDir, name: RELEASE_LOCK, what: "release folder", command: "run" });
    const mergeInto = await cardToMerge({ config, target, ...ids, outDir, settings, fetch });
    let files: Record<string, string>;
    let exportOutcome: StageOutcome;
    try {
      const exported = await exportStep({
        config,
        inputs,
        outDir,
        buildKey,
        ...ids,
        ...(mergeInto && { mergeCard: mergeInto }),
        ...(overrides?.sha256 && { overridesSha256: overrides.sha256 }),
      });
      exportOutcome = exported.outcome;
      if (exported.outcome === "cached") files = exported.files;
      else {
        const card = await cardStep({ config, exported: exported.exported, staging: exported.staging, outDir, buildKey, ...ids, toolVersion, ...(mergeInto && { existing: mergeInto }) });
        const written = [...exported.exported.data.shards.map((shard) => shard.path), ...card.files];
        files = await finishRelease({ folder: outDir, workDir: config.workDir, files: written, key: exported.key, extra: exported.extra });
      }
    } catch (error) {
      // The previous release stays as it was; the unfinished one goes (a full disk needs it back).
      await dropStaging(outDir);
      throw error;
    }

    const plan = await planStep({ config, target, outDir, files, ...ids });
    const result: RunPipelineResult = {
      outDir,
      stages: { embed: embedded.outcome, cluster: clustered.outcome, ...(reviewed && { overrides: reviewed.outcome }), ids: ids.outcome, export: exportOutcome },
      plan,
      ...(reviewed && { overrides: reviewed.report }),
    };
    if (!willPush) result.notPushed = params.push ? "--dry-run" : "no --push";
    else {
      result.published = await publishStep({
        config,
        plan,
        outDir,
        files,
        settings: { ...settings, accessToken: settings.accessToken! },
        fetch,
        tag: params.tag ?? config.release.tag,
        createPr: params.createPr ?? false,
        toolVersion,
        // The decisions as read at the start: one written meanwhile (idclusters review) is the next run's.
        ...(overrides && { overrides }),
      });
    }
    return result;
  } finally {
    await releaseLock?.release();
    await lock.release();
  }
}
