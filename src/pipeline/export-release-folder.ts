/**
 * `idclusters export --config`: the export and card steps alone, from the embed and cluster outputs
 * already in the work dir, into a release folder idclusters may write (release-folder.ts), under
 * the work dir's lock. No previous release is consulted: that is `run`'s job.
 */
import type { ReleaseConfig } from "../config/index.ts";
import { createRetryingFetch, resolveHubSettings, type ResolveHubSettingsParams } from "../hub/index.ts";
import { cardStep, cardToMerge } from "./card-step.ts";
import { exportFromConfig, type ExportFromConfigParams, type ExportFromConfigResult } from "./export-from-config.ts";
import { pullReleaseInputs } from "./pull-inputs.ts";
import { checkReleaseFolder, commitStaging, dropStaging, RELEASE_LOCK, startStaging } from "./release-folder.ts";
import { lockWorkDir, type WorkDirLock } from "./work-dir-lock.ts";

export interface ExportReleaseFolderParams {
  config: ReleaseConfig;
  hub: ResolveHubSettingsParams;
  /** Release folder, and the flag that named it. */
  outDir: string;
  outFlag: string;
  /** Also write README.md, assets/ and card-inputs.json. */
  card: boolean;
  toolVersion: string;
  onProgress?: ExportFromConfigParams["onProgress"];
}

export interface ExportReleaseFolderResult extends ExportFromConfigResult {
  /** Files written (relative to the release folder). */
  files: string[];
}

export async function exportReleaseFolder(params: ExportReleaseFolderParams): Promise<ExportReleaseFolderResult> {
  const { config, outDir } = params;
  const settings = resolveHubSettings(params.hub);
  await checkReleaseFolder({ folder: outDir, flag: params.outFlag, workDir: config.workDir });
  const lock = await lockWorkDir({ workDir: config.workDir, command: "export" });
  let releaseLock: WorkDirLock | undefined;
  try {
    releaseLock = await lockWorkDir({ workDir: outDir, name: RELEASE_LOCK, what: "release folder", command: "export" });
    const inputs = await pullReleaseInputs(config, params.hub);
    // No previous release here: the card this folder holds is the one whose hand-written parts are kept.
    const existing = await cardToMerge({ config, target: { status: "missing" }, ownHead: false, previousCommit: null, outDir, settings, fetch: createRetryingFetch(settings) });
    const staging = await startStaging(outDir);
    try {
      const exported = await exportFromConfig({ config, outDir: staging, inputs, ...(params.onProgress && { onProgress: params.onProgress }) });
      const files = exported.data.shards.map((shard) => shard.path);
      if (params.card) {
      const card = await cardStep({
        config,
        exported,
        staging,
        outDir,
        previousCommit: null,
        changelog: null,
        toolVersion: params.toolVersion,
        ...(existing && { existing }),
      });
        files.push(...card.files);
      }
      await commitStaging({ folder: outDir, files });
      return { ...exported, files };
    } catch (error) {
      await dropStaging(outDir);
      throw error;
    }
  } finally {
    await releaseLock?.release();
    await lock.release();
  }
}
