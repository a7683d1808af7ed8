/**
 * A pull in offline mode (`HF_HUB_OFFLINE`), served from the Hub cache alone, as
 * `huggingface_hub.snapshot_download` does: the revision is a commit whose `snapshots/<commit>`
 * exists, or a branch/tag whose `refs/<revision>` names one. Unlike Python, which returns the
 * folder as is, the files the pull needs must be there: those a completed pull with the same
 * include/exclude listed (exact), else those any pull of that commit listed that match, plus every
 * include that names a plain path; and at least one file must match.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import picomatch from "picomatch";
import { UsageError } from "../common/errors.ts";
import { createPathFilter } from "./path-filter.ts";
import { cacheFolderName } from "./repo-designation.ts";
import type { HubRepo } from "./repo-designation.ts";
import { patternKey, readAllMarkerFiles, readMarkerFiles } from "./snapshot-markers.ts";

export interface FindOfflineSnapshotParams {
  repo: HubRepo;
  /** Branch, tag or commit SHA (already checked to be a safe revision). */
  revision: string;
  /** Globs of the pull, as `pullSnapshot` takes them. */
  include?: string[];
  exclude?: string[];
  /** Hub cache root. */
  cacheDir: string;
}

export interface OfflineSnapshot {
  snapshotPath: string;
  commit: string;
  /** Files of the snapshot the globs select. */
  files: number;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The cached snapshot, or a UsageError naming the repo, the revision and what is missing. */
export async function findOfflineSnapshot(params: FindOfflineSnapshotParams): Promise<OfflineSnapshot> {
  const { repo, revision, cacheDir } = params;
  const where = `${repo.name}@${revision}`;
  const offline = `offline mode is on (HF_HUB_OFFLINE), so nothing is fetched`;
  const repoDir = join(cacheDir, cacheFolderName(repo));

  let commit: string | undefined;
  let lacking: string;
  if (COMMIT_SHA.test(revision)) {
    commit = revision;
    lacking = `${join(repoDir, "snapshots", revision)} does not exist`;
  } else {
    const refPath = join(repoDir, "refs", ...revision.split("/"));
    const ref = await readFile(refPath, "utf8").catch(() => undefined);
    commit = ref !== undefined && COMMIT_SHA.test(ref.trim()) ? ref.trim() : undefined;
    lacking = commit
      ? `${join(repoDir, "snapshots", commit)} (named by refs/${revision}) does not exist`
      : `${refPath} does not exist`;
  }
  const snapshotPath = commit ? join(repoDir, "snapshots", commit) : "";
  if (!commit || !(await stat(snapshotPath).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(
      `pull ${where}: ${offline}, and the Hub cache has no snapshot of ${repo.type} ${where}: ${lacking}; ` +
        `pull it once without HF_HUB_OFFLINE`,
    );
  }
  const at = `${where} (commit ${commit.slice(0, 12)})`;

  const filter = createPathFilter(params.include, params.exclude);
  const exact = await readMarkerFiles(repoDir, commit, patternKey(params.include, params.exclude));
  const expected = new Map<string, number | undefined>();
  for (const file of exact ?? (await readAllMarkerFiles(repoDir, commit)).filter((f) => filter(f.path))) {
    expected.set(file.path, file.size);
  }
  if (!exact) {
    for (const pattern of params.include ?? []) {
      if (!picomatch.scan(pattern).isGlob && filter(pattern) && !expected.has(pattern)) expected.set(pattern, undefined);
    }
  }

  const absent: string[] = [];
  for (const [path, size] of expected) {
    // Follows the snapshot's symlink to the blob; a missing or truncated blob counts as absent.
    const found = await stat(join(snapshotPath, ...path.split("/"))).catch(() => undefined);
    if (!found?.isFile() || (size !== undefined && found.size !== size)) absent.push(path);
  }
  if (absent.length > 0) {
    const more = absent.length > 1 ? ` (and ${absent.length - 1} more file${absent.length > 2 ? "s" : ""})` : "";
    throw new UsageError(
      `pull ${at}: ${offline}, and ${absent[0]}${more} is missing from the cached snapshot ${snapshotPath}; ` +
        `pull it once without HF_HUB_OFFLINE`,
    );
  }

  const files = exact ? exact.length : (await snapshotFiles(snapshotPath)).filter(filter).length;
  if (files === 0) {
    throw new UsageError(
      `pull ${at}: ${offline}, and no file of the cached snapshot ${snapshotPath} matches ` +
        `include ${JSON.stringify(params.include ?? [])} / exclude ${JSON.stringify(params.exclude ?? [])}; ` +
        `pull it once without HF_HUB_OFFLINE`,
    );
  }
  return { snapshotPath, commit, files };
}

/** Repo paths of the regular files (symlinks followed) under a snapshot folder. */
async function snapshotFiles(snapshotPath: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(snapshotPath, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const full = join(entry.parentPath ?? entry.path, entry.name);
    if (!(await stat(full).catch(() => undefined))?.isFile()) continue;
    out.push(full.slice(snapshotPath.length + 1).split("\\").join("/"));
  }
  return out;
}
