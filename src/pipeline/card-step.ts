/**
 * Step 6, card: the exported data's statistics -> README.md (merged into the previous release's
 * card, so hand-written sections and unknown YAML keys survive), assets/ plots and
 * card-inputs.json, written beside the staged shards.
 */
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { saveCardInputs, writeCard, type CardChangelog, type CardInputs } from "../card/index.ts";
import { pullSnapshot, type HubSettings } from "../hub/index.ts";
import type { TargetState } from "./read-target.ts";
import type { ExportFromConfigResult } from "./export-from-config.ts";

export interface CardStepInput {
  config: ReleaseConfig;
  /** The export step's result and the staging folder it wrote. */
  exported: ExportFromConfigResult;
  staging: string;
  /** The release folder: its README.md is this work dir's last card (merged into for a first release). */
  outDir: string;
  /** build-key.ts (`run` only: `export` alone does not know the previous release). */
  buildKey?: string;
  previousCommit: string | null;
  changelog: CardChangelog | null;
  toolVersion: string;
  /** The card to merge into (cardToMerge), if any. */
  existing?: { text: string; name: string };
}

export interface CardStepOutput {
  /** Files the card step wrote (relative to the release folder). */
  files: string[];
}

export async function cardStep(input: CardStepInput): Promise<CardStepOutput> {
  const { config, exported } = input;
  const inputs: CardInputs = {
    config,
    data: exported.data,
    clusterStats: exported.clusterStats as CardInputs["clusterStats"],
    problems: exported.problems,
    models: exported.models,
    source: exported.source,
    toolVersion: input.toolVersion,
    ...(input.previousCommit && { previousCommit: input.previousCommit }),
    ...(input.buildKey && { buildKey: input.buildKey }),
    ...(input.changelog && { changelog: input.changelog }),
    ...(exported.review && { review: exported.review }),
  };
  const written = await writeCard({ inputs, outDir: input.staging, ...(input.existing && { existingCard: input.existing.text, existingName: input.existing.name }) });
  await saveCardInputs({ inputs, path: join(input.staging, "card-inputs.json") });
  log.info(`run: card: README.md with ${written.assets.length} plot(s)`);
  return { files: ["README.md", "card-inputs.json", ...written.assets.map((path) => relative(input.staging, path).split(sep).join("/"))] };
}

/**
 * The card whose hand-written parts are kept: the head's own card when the head is our release of
 * these inputs (edits made on the Hub since then survive and an unchanged rerun changes nothing),
 * else the previous release's README (immutable at its commit), else the card this work dir wrote
 * last (a first release).
 */
export async function cardToMerge(input: {
  config: ReleaseConfig;
  target: TargetState;
  ownHead: boolean;
  previousCommit: string | null;
  outDir: string;
  settings: HubSettings;
  fetch: typeof fetch;
}): Promise<{ text: string; name: string } | undefined> {
  const target = input.config.release.target;
  if (input.ownHead && input.target.status === "present" && input.target.card !== undefined) {
    return { text: input.target.card, name: `${target}@${input.target.head.slice(0, 12)}/README.md` };
  }
  if (input.previousCommit) {
    const snap = await pullSnapshot({ repo: target, revision: input.previousCommit, include: ["README.md"], ...input.settings, fetch: input.fetch });
    const text = await readFile(join(snap.snapshotPath, "README.md"), "utf8").catch(() => undefined);
    return text === undefined ? undefined : { text, name: `${target}@${input.previousCommit.slice(0, 12)}/README.md` };
  }
  const text = await readFile(join(input.outDir, "README.md"), "utf8").catch(() => undefined);
  return text === undefined ? undefined : { text, name: join(input.outDir, "README.md") };
}
