/**
 * Step 7, plan: what publishing would change, computed from the one reading of the target
 * (read-target.ts) and the release folder's files with their SHA-256. The owned-files rule lives
 * here: a release deletes only remote files it owns, its own split's shards and the plots the
 * card stage writes (issue #10: a release once deleted another split's shards).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import picomatch from "picomatch";
import { gitBlobSha1OfFile } from "../common/file-hashes.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { CARD_ASSET_PATHS, diffCards, type CardChangelog, type CardDiff } from "../card/index.ts";
import type { PublishedCardInputs, TargetState } from "./read-target.ts";

/** What publishing would change, against the target's head. */
export interface ReleasePlan {
  target: string;
  /** Head commit of the target: the parent of the publishing commit ("" when the repo does not exist). */
  head: string;
  repoMissing: boolean;
  /** Why the target could not be read (the plan then lists every file as added). */
  unreachable?: string;
  added: string[];
  updated: string[];
  deleted: string[];
  unchanged: number;
  rows: { previous: number | null; current: number };
  identities: { previous: number | null; current: number };
  /** README.md differs from the head's. */
  cardChanged: boolean;
  /** How it differs. */
  card?: CardDiff;
  previousCommit: string | null;
  changelog: CardChangelog | null;
}

/** Remote paths a release of `split` owns: stale ones are deleted by the publishing commit, nothing else is. */
export function ownedRemoteGlobs(split: string): string[] {
  return [`data/${split}-+([0-9])-of-+([0-9]).parquet`, ...CARD_ASSET_PATHS];
}

export interface PlanStepInput {
  config: ReleaseConfig;
  target: TargetState;
  outDir: string;
  /** Release files (relative paths) -> SHA-256. */
  files: Record<string, string>;
  previousCommit: string | null;
  changelog: CardChangelog | null;
}

export async function planStep(input: PlanStepInput): Promise<ReleasePlan> {
  const { config, target } = input;
  const remote = target.status === "present" ? target.files : {};
  const paths = Object.keys(input.files).sort();
  const added: string[] = [];
  const updated: string[] = [];
  let unchanged = 0;
  for (const path of paths) {
    const theirs = remote[path];
    if (theirs === undefined) added.push(path);
    // LFS files are listed by SHA-256 (64 hex), regular files by git blob SHA-1 (40 hex).
    else if (theirs === (theirs.length === 40 ? await gitBlobSha1Of(input.outDir, path) : input.files[path])) unchanged++;
    else updated.push(path);
  }
  const owned = picomatch(ownedRemoteGlobs(config.release.split), { dot: true });
  const local = new Set(paths);
  const deleted = Object.keys(remote).filter((path) => owned(path) && !local.has(path)).sort();
  const ours = JSON.parse(await readFile(join(input.outDir, "card-inputs.json"), "utf8")) as PublishedCardInputs & {
    data: { numExamples: number };
  };
  const theirs = target.status === "present" ? target.cardInputs : undefined;
  const card = diffCards({
    previous: target.status === "present" ? target.card : undefined,
    current: await readFile(join(input.outDir, "README.md"), "utf8"),
    split: config.release.split,
  });
  return {
    target: config.release.target,
    head: target.status === "present" ? target.head : "",
    repoMissing: target.status === "missing",
    ...(target.status === "unreachable" && { unreachable: target.reason }),
    added,
    updated,
    deleted,
    unchanged,
    // A release not made by idclusters has no card-inputs.json: its card header still counts rows.
    rows: { previous: theirs?.data?.numExamples ?? card.numExamples.previous, current: ours.data.numExamples },
    identities: { previous: identitiesOf(theirs), current: identitiesOf(ours) ?? 0 },
    cardChanged: card.changed,
    card,
    previousCommit: input.previousCommit,
    changelog: input.changelog,
  };
}

function gitBlobSha1Of(folder: string, path: string): Promise<string> {
  return gitBlobSha1OfFile(join(folder, ...path.split("/")));
}

/** Identities as the release's rows count them (noise -1 and no-face rows are none); older card inputs had only the statistics. */
function identitiesOf(inputs: PublishedCardInputs | undefined): number | null {
  return inputs?.data?.labels?.identities ?? inputs?.clusterStats?.identities ?? null;
}
