/**
 * Step 8, publish: the planned release -> one commit on the target (or a pull request). The
 * safe-publish rules of issue #10 meet here:
 * - the release is verified as `verify` does before anything is sent; a release missing shards,
 *   rows or card numbers is not pushed;
 * - the commit's parent is the head the plan was computed against: if the target moved meanwhile,
 *   nothing is changed and the message says so (a rerun plans against the new head);
 * - only files the release owns are deleted (plan-step.ts), only the release's own files are sent;
 * - visibility is the Hub's default unless the config says `private`; `release.gated` is applied
 *   before the data lands.
 */
import { RuntimeError } from "../common/errors.ts";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { ReadOverridesResult } from "../identities/index.ts";
import { createRepoIfMissing, pushFolder, readRepoHead, updateRepoSettings, type HubSettings, type PushFolderResult } from "../hub/index.ts";
import { ownedRemoteGlobs, type ReleasePlan } from "./plan-step.ts";
import { verifyReleaseFolder } from "./verify-release-folder.ts";

export interface PublishStepInput {
  config: ReleaseConfig;
  plan: ReleasePlan;
  /** Release folder and its release files (relative path -> SHA-256). */
  outDir: string;
  files: Record<string, string>;
  settings: HubSettings & { accessToken: string };
  /** Retrying fetch for the calls made here (pushFolder adds its own retries). */
  fetch: typeof fetch;
  /** Tag for the commit (not with a pull request). */
  tag?: string;
  /** Open a pull request instead of committing to main. */
  createPr?: boolean;
  toolVersion: string;
  /** The decisions file as `run` read it at its start (`clustering.overrides`): the check before pushing uses it, not the file as it is now. */
  overrides?: ReadOverridesResult;
}

export async function publishStep(input: PublishStepInput): Promise<PushFolderResult> {
  const { config, plan, settings } = input;
  const target = config.release.target;
  if (plan.unreachable) throw new RuntimeError(`cannot publish to ${target}: the target could not be read (${plan.unreachable})`);

  // Nothing to send (the head already holds these very files): nothing to verify either.
  const sends = plan.added.length + plan.updated.length + plan.deleted.length > 0 || input.createPr === true;
  if (sends) {
    const verified = await verifyReleaseFolder({
      folder: input.outDir,
      config,
      maxRowGroupRows: config.release.rowGroupSize,
      ...(input.overrides && { overrides: input.overrides }),
    });
    // The run just built this release in this work dir: a review check that could not be made is a failure here.
    if (verified.overrides?.skipped) verified.problems.push(`cluster_id not checked against clustering.overrides: ${verified.overrides.skipped}`);
    if (verified.problems.length > 0) {
      throw new RuntimeError(
        `the release in ${input.outDir} fails verification, nothing was pushed:\n  ${verified.problems.slice(0, 20).join("\n  ")}`,
      );
    }
    log.info(`publish: release verified (${verified.checks.length} checks)`);
  }

  const client = { hubUrl: settings.hubUrl, accessToken: settings.accessToken, fetch: input.fetch };
  let parent = plan.head;
  if (plan.repoMissing) parent = await createTargetRepo(input, client);
  else {
    // A moved target changes nothing, settings included (pushFolder checks again before committing).
    const now = await readRepoHead({ repo: target, ...client });
    const head = now.exists ? now.commit : "(no repo)";
    if (head !== plan.head) {
      throw new RuntimeError(`publish ${target}: the branch moved from ${plan.head} to ${head} since the release was planned; nothing was changed: rerun to plan against the new head`);
    }
  }

  // Access before data: a gated or private release must never be readable, even for a moment. Only
  // ever towards less access: an existing private repo is never made public by a config.
  const { gated } = config.release;
  const makePrivate = config.release.private === true && !plan.repoMissing;
  if (gated !== undefined || makePrivate) {
    await updateRepoSettings({ repo: target, ...(gated !== undefined && { gated: gated.mode }), ...(makePrivate && { private: true }), ...client });
    log.info(`publish: ${target}: ${[gated && `gated (${gated.mode})`, makePrivate && "private"].filter(Boolean).join(", ")}`);
  }
  if (config.release.private === false && !plan.repoMissing) {
    log.info(`publish: ${target} exists: its visibility is left as it is (release.private applies when a push creates the repo, or to make it private)`);
  }

  const tag = input.createPr ? undefined : input.tag;
  if (input.createPr && input.tag) log.warn(`publish: --tag ${input.tag} is not applied to a pull request; tag the merge commit instead`);
  return pushFolder({
    repo: target,
    folder: input.outDir,
    files: Object.keys(input.files),
    localSha256: input.files,
    deleteGlobs: ownedRemoteGlobs(config.release.split),
    parentCommit: parent,
    message: `idclusters ${input.toolVersion}: ${plan.rows.current} rows, ${plan.identities.current} identities`,
    ...(input.createPr && { createPr: true }),
    ...(tag && { tag }),
    hubUrl: settings.hubUrl,
    accessToken: settings.accessToken,
    offline: settings.offline,
    etagTimeoutMs: settings.etagTimeoutMs,
    downloadTimeoutMs: settings.downloadTimeoutMs,
    // pushFolder wraps the plain fetch with retries itself: a retrying fetch inside would nest them.
  });
}

/**
 * Creates the target the plan found missing (visibility from the config, else the Hub's default
 * for the owner) and returns its head. Created meanwhile by someone else: fine only while it holds
 * nothing but its creation commit.
 */
async function createTargetRepo(input: PublishStepInput, client: { hubUrl: string; accessToken: string; fetch: typeof fetch }): Promise<string> {
  const target = input.config.release.target;
  const visibility = input.config.release.private;
  if (await createRepoIfMissing({ repo: target, ...(visibility !== undefined && { private: visibility }), ...client })) {
    log.info(`publish: created dataset repo ${target}${visibility === undefined ? "" : visibility ? " (private)" : " (public)"}`);
  }
  const state = await readRepoHead({ repo: target, ...client });
  if (!state.exists) throw new RuntimeError(`publish: ${target} cannot be read after creating it (missing or not visible with this token)`);
  const foreign = [...state.files.keys()].filter((path) => path !== ".gitattributes");
  if (foreign.length > 0) {
    throw new RuntimeError(`publish: ${target} was created by someone else since the plan and holds ${foreign.length} file(s); nothing was changed: rerun to plan against it`);
  }
  return state.commit;
}
