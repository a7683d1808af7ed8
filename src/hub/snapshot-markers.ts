/**
 * Completeness markers of pulled snapshots: `<repo folder>/.idclusters/complete-<commit>-<key>.json`
 * lists the files a pull with one include/exclude set placed (`key` hashes the set). The Python
 * client's cache scan reads only `refs/`, `snapshots/` and `blobs/` of a repo folder, so the layout
 * stays interchangeable. They let a pull of a commit skip the network, and tell an offline pull
 * which files must be there.
 */
import { createHash } from "node:crypto";
import { lstat, mkdir, readFile, readdir, readlink, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { unsafeRepoPathReason } from "./safe-repo-path.ts";

export interface MarkerFile {
  /** Repo path. */
  path: string;
  /** Blob name (etag) in `blobs/`. */
  blob: string;
  size: number;
}

const ETAG = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Key of an include/exclude set: the same set in any order gives the same key. */
export function patternKey(include: string[] | undefined, exclude: string[] | undefined): string {
  const canonical = JSON.stringify({ include: [...(include ?? [])].sort(), exclude: [...(exclude ?? [])].sort() });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

function markerPath(repoDir: string, commit: string, key: string): string {
  return join(repoDir, ".idclusters", `complete-${commit}-${key}.json`);
}

export async function writeCompleteMarker(repoDir: string, commit: string, key: string, files: MarkerFile[]): Promise<void> {
  const path = markerPath(repoDir, commit, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify({ commit, files }));
  await rename(`${path}.tmp`, path);
}

/** The files of the marker for `key`; undefined when there is none or it is unreadable. */
export async function readMarkerFiles(repoDir: string, commit: string, key: string): Promise<MarkerFile[] | undefined> {
  return readMarker(markerPath(repoDir, commit, key));
}

/** Every file any marker of `commit` lists (each path once). */
export async function readAllMarkerFiles(repoDir: string, commit: string): Promise<MarkerFile[]> {
  const names = await readdir(join(repoDir, ".idclusters")).catch(() => [] as string[]);
  const byPath = new Map<string, MarkerFile>();
  for (const name of names) {
    if (!name.startsWith(`complete-${commit}-`) || !name.endsWith(".json")) continue;
    for (const file of (await readMarker(join(repoDir, ".idclusters", name))) ?? []) byPath.set(file.path, file);
  }
  return [...byPath.values()];
}

/** Number of files when the marker exists and every file is still linked to a blob of the right size. */
export async function completeSnapshotFiles(repoDir: string, commit: string, key: string): Promise<number | undefined> {
  const files = await readMarkerFiles(repoDir, commit, key);
  if (!files) return undefined;
  const snapshotPath = join(repoDir, "snapshots", commit);
  for (const file of files) {
    const linkPath = join(snapshotPath, ...file.path.split("/"));
    const blobPath = join(repoDir, "blobs", file.blob);
    if ((await linkTarget(linkPath)) !== relative(dirname(linkPath), blobPath)) return undefined;
    if ((await sizeOrUndefined(blobPath)) !== file.size) return undefined;
  }
  return files.length;
}

/** A marker's files, rejected whole when any path or blob name is unsafe (the file is ours, but on disk). */
async function readMarker(path: string): Promise<MarkerFile[] | undefined> {
  try {
    const files = (JSON.parse(await readFile(path, "utf8")) as { files: MarkerFile[] }).files;
    if (!Array.isArray(files)) return undefined;
    if (files.some((file) => unsafeRepoPathReason(file.path) || !ETAG.test(file.blob) || typeof file.size !== "number")) {
      return undefined;
    }
    return files;
  } catch {
    return undefined;
  }
}

export async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

export async function linkTarget(path: string): Promise<string | undefined> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return undefined;
    return await readlink(path);
  } catch {
    return undefined;
  }
}
