/**
 * Step 5, export: source rows + embed index + published labels -> the release's Parquet shards,
 * staged inside the release folder (release-folder.ts) until the card is written beside them.
 * The release folder's stage manifest keys on the build key, the labels and the previous release:
 * when it still matches the folder's files, export and card are skipped.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256OfFile } from "../common/file-hashes.ts";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { exportFromConfig, type ExportFromConfigResult } from "./export-from-config.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";
import { ownedReleaseFiles, startStaging } from "./release-folder.ts";
import { hashInputs, validManifest, type StageOutcome } from "./stage-manifest.ts";

export interface ExportStepInput {
  config: ReleaseConfig;
  inputs: ReleaseInputs;
  /** Release folder (checked by release-folder.ts before the run started). */
  outDir: string;
  buildKey: string;
  /** The identities step's labels and what they were computed against. */
  labelsPath: string;
  previousCommit: string | null;
  changelog: unknown;
  /** The card the card step merges into (card-step.ts cardToMerge), if any. */
  mergeCard?: { text: string; name: string };
  /** SHA-256 of the decisions file as `run` read it at its start (`clustering.overrides`). */
  overridesSha256?: string;
}

/** What the release manifest remembers beside its key. */
export interface ReleaseManifestExtra {
  /** SHA-256 of the card the release's README was merged into (null: none). */
  mergeCard: string | null;
}

export type ExportStepOutput =
  | {
      outcome: "cached";
      /** Release file (relative path) -> SHA-256, from the release manifest. */
      files: Record<string, string>;
      key: string;
    }
  | { outcome: Extract<StageOutcome, "ran">; staging: string; exported: ExportFromConfigResult; key: string; extra: ReleaseManifestExtra };

export async function exportStep(input: ExportStepInput): Promise<ExportStepOutput> {
  const { config, outDir } = input;
  const key = hashInputs({
    stage: "export",
    buildKey: input.buildKey,
    labels: await sha256OfFile(input.labelsPath),
    previousCommit: input.previousCommit,
    changelog: input.changelog,
  });
  const mergeCard = input.mergeCard ? sha256Of(input.mergeCard.text) : null;
  const cached = await validManifest<ReleaseManifestExtra>({ workDir: config.workDir, stage: "export", inputHash: key, root: outDir });
  const owned = await ownedReleaseFiles(outDir).catch(() => undefined);
  const sameFiles = (a: string[], b: string[]) => a.length === b.length && a.every((path) => b.includes(path));
  // The hand-written parts come from the card merged into: the same one as last time, or our own
  // README itself (the head is the release we built: merging into it changes nothing).
  const sameCard =
    cached?.extra?.mergeCard === mergeCard ||
    (input.mergeCard !== undefined && input.mergeCard.text === (await readFile(join(outDir, "README.md"), "utf8").catch(() => undefined)));
  if (cached && owned && sameFiles(owned, Object.keys(cached.outputs)) && sameCard) {
    log.info("run: export: inputs unchanged, skipped");
    return { outcome: "cached", files: cached.outputs, key };
  }
  const staging = await startStaging(outDir);
  const exported = await exportFromConfig({ config, outDir: staging, inputs: input.inputs, ...(input.overridesSha256 && { overridesSha256: input.overridesSha256 }) });
  log.info(`run: export: ${exported.data.numExamples} rows in ${exported.data.shards.length} shard(s)`);
  return { outcome: "ran", staging, exported, key, extra: { mergeCard } };
}

function sha256Of(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
