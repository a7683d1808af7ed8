/**
 * The release folder (`<work dir>/release` or `run --out DIR`) is written only when idclusters owns
 * it: it does not exist, is empty, or carries our marker `.idclusters-release.json`, which lists the
 * files we wrote there. Nothing else in it is ever deleted (issue #10: `--out .` once emptied a
 * checkout). A new release is staged in `.idclusters-staging/` inside the folder (same filesystem,
 * so moving it in is a rename), then the files of the previous release that the new one lacks are
 * removed, the new ones renamed into place and the marker rewritten last.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { UsageError } from "../common/errors.ts";
import { listLocalFiles } from "../hub/index.ts";
import { log } from "../common/logger.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";
import { hashOutputs, writeManifest } from "./stage-manifest.ts";

export const RELEASE_MARKER = ".idclusters-release.json";
export const STAGING_DIR = ".idclusters-staging";
/** Two work dirs writing one `--out` folder at once would mix their releases. */
export const RELEASE_LOCK = ".idclusters-release.lock";
const MARKER_FORMAT = "idclusters-release-folder/1";

interface ReleaseMarker {
  format: typeof MARKER_FORMAT;
  /** Files of the release we wrote last (relative POSIX paths). */
  files: string[];
}

/** Files idclusters wrote in `folder` (per its marker); undefined when the folder is not ours. */
export async function ownedReleaseFiles(folder: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, RELEASE_MARKER), "utf8");
  } catch {
    return undefined;
  }
  try {
    const marker = JSON.parse(text) as Partial<ReleaseMarker>;
    // Only plain relative paths: a marker must never lead a deletion out of its folder.
    const safe = (f: unknown): f is string => typeof f === "string" && f !== "" && !f.startsWith("/") && !f.includes("\\") && !f.split("/").includes("..");
    if (marker.format === MARKER_FORMAT && Array.isArray(marker.files) && marker.files.every(safe)) return marker.files;
  } catch {
    // fall through: an unreadable marker is not ours to trust
  }
  throw new UsageError(`${join(folder, RELEASE_MARKER)} is not a release marker written by idclusters; move the folder aside`);
}

/**
 * Refuses a release folder that idclusters may not write: an existing non-empty folder without our
 * marker, a file, or a folder that holds the work dir or the current directory (`--out .`,
 * `--out ..`). Runs before any side effect.
 */
export async function checkReleaseFolder(params: {
  /** The release folder (absolute). */
  folder: string;
  /** The flag or key that named it, for the message. */
  flag: string;
  /** The work dir, which must not lie inside the release folder. */
  workDir: string;
}): Promise<void> {
  const folder = resolve(params.folder);
  // Before the existence check: a new release folder must not swallow the work dir either.
  for (const [what, path] of [["the work dir", params.workDir], ["the current folder", process.cwd()]] as const) {
    const rel = relative(folder, resolve(path));
    const inside = rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
    if (inside) throw new UsageError(`${params.flag} ${folder}: holds ${what} (${resolve(path)}); choose a new or empty folder for the release`);
  }
  const info = await stat(folder).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory()) throw new UsageError(`${params.flag} ${folder}: exists and is not a folder`);
  // The lock, and the file a lock is written to before it is linked in place (work-dir-lock.ts).
  const entries = (await readdir(folder)).filter((name) => name !== STAGING_DIR && !name.startsWith(RELEASE_LOCK));
  if (entries.length === 0) return;
  if ((await ownedReleaseFiles(folder)) === undefined) {
    throw new UsageError(
      `${params.flag} ${folder}: the folder is not empty and was not written by idclusters (no ${RELEASE_MARKER}); ` +
        `idclusters never deletes files it did not create: choose a new or empty folder`,
    );
  }
}

/** A fresh staging folder inside `folder` for the next release. */
export async function startStaging(folder: string): Promise<string> {
  const staging = join(folder, STAGING_DIR);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  return staging;
}

/**
 * Moves the staged release into `folder`. Crash-safe in this order: the marker first lists the old
 * and the new files (whatever is on disk after a kill is ours), the staged files are renamed over
 * their old versions, the files of our previous release that the new one lacks are deleted, and
 * the marker is rewritten last. A file we did not write is never replaced: it stops the swap
 * before anything moved. The publish step pushes `files` only, so foreign files are never sent.
 */
export async function commitStaging(params: { folder: string; files: string[] }): Promise<void> {
  const { folder } = params;
  const staging = join(folder, STAGING_DIR);
  const previous = (await ownedReleaseFiles(folder)) ?? [];
  const ours = new Set(previous);
  const next = new Set(params.files);
  const clash = params.files.filter((path) => !ours.has(path) && existsSync(join(folder, ...path.split("/"))));
  if (clash.length > 0) {
    throw new UsageError(`${folder}: ${clash.join(", ")} exist(s) and were not written by idclusters; move them aside (the new release is in ${staging})`);
  }
  await writeMarker(folder, [...new Set([...previous, ...params.files])]);
  for (const path of params.files) {
    const target = join(folder, ...path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await rename(join(staging, ...path.split("/")), target);
  }
  for (const path of previous) {
    if (next.has(path)) continue;
    await rm(join(folder, ...path.split("/")), { force: true });
    await removeEmptyParents(folder, dirname(path));
  }
  await rm(staging, { recursive: true, force: true });
  await writeMarker(folder, params.files);
  // listLocalFiles skips our marker, lock and staging, as a push does.
  const foreign = (await listLocalFiles(folder).catch(() => [] as string[])).filter((path) => !next.has(path));
  if (foreign.length > 0) {
    log.warn(`${folder}: ${foreign.length} file(s) not written by idclusters are left alone and not part of the release (${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", ..." : ""})`);
  }
}

/** Drops an unfinished staging folder (a failed export or card): GBs a full disk needs back. */
export async function dropStaging(folder: string): Promise<void> {
  await rm(join(folder, STAGING_DIR), { recursive: true, force: true });
}

async function writeMarker(folder: string, files: string[]): Promise<void> {
  const marker: ReleaseMarker = { format: MARKER_FORMAT, files: [...files].sort() };
  await writeFileAtomic(join(folder, RELEASE_MARKER), JSON.stringify(marker, null, 2) + "\n");
}

async function removeEmptyParents(root: string, dir: string): Promise<void> {
  for (let d = dir; d !== "." && d !== "" && d !== "/"; d = dirname(d)) {
    const full = join(root, ...d.split("/"));
    if (!existsSync(full) || (await readdir(full)).length > 0) return;
    await rmdir(full);
  }
}


/**
 * The last step of writing a release: the staged files moved in (commitStaging) and the release's
 * stage manifest recorded (export-step.ts recognises an unchanged release by it). Returns the
 * release's files with their SHA-256.
 */
export async function finishRelease(params: {
  folder: string;
  workDir: string;
  files: string[];
  key: string;
  /** Kept beside the key (export-step.ts). */
  extra: unknown;
}): Promise<Record<string, string>> {
  await commitStaging({ folder: params.folder, files: params.files });
  const manifest = { inputHash: params.key, ...(await hashOutputs(params.folder, params.files)), extra: params.extra };
  await writeManifest(params.workDir, "export", manifest);
  return manifest.outputs;
}
