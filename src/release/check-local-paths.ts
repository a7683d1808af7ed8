/**
 * For `verify`: nothing a release publishes may name a folder of the machine that built it (issue
 * #10). A local source or model is named by its base name and SHA-256 (card-inputs.json, the card's
 * provenance), `image.path` is the bare file name as `datasets` writes it, and this module finds
 * what slipped through: the build machine's folders (current directory, home, temporary directory,
 * the release folder, and whatever the caller adds: work dir, config folder) anywhere in the
 * release's text files, and absolute path-like values anywhere in `card-inputs.json`.
 */
import { realpathSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";

/** Folders of this machine that a release must not name: the defaults plus `extra`, longest first. */
export function buildMachinePaths(params: { folder: string; extra?: readonly string[] }): string[] {
  const found = new Set<string>();
  const add = (path: string | undefined) => {
    if (!path) return;
    for (const candidate of [resolve(path), safeRealpath(resolve(path))]) {
      const trimmed = candidate.replace(/[\\/]+$/, "");
      // "/" or "C:" alone would match every absolute path of any machine.
      if (trimmed.length > 1 && !/^[A-Za-z]:$/.test(trimmed)) found.add(trimmed);
    }
  };
  add(process.cwd());
  add(homedir());
  add(tmpdir());
  add(params.folder);
  for (const path of params.extra ?? []) add(path);
  return [...found].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

const NAME_CHAR = /[A-Za-z0-9._~-]/;

/** Index of the first occurrence of `path` in `text` as a whole path (not a prefix of a longer name), or -1. */
export function findPath(text: string, path: string): number {
  for (let at = text.indexOf(path); at >= 0; at = text.indexOf(path, at + 1)) {
    const before = at === 0 ? "" : text[at - 1]!;
    const after = text[at + path.length] ?? "";
    // A dot ends a sentence unless a name goes on after it (`/tmp/x.` vs `/tmp/x.png`).
    const continues = after === "." ? NAME_CHAR.test(text[at + path.length + 1] ?? "") : NAME_CHAR.test(after);
    if (!NAME_CHAR.test(before) && before !== "/" && before !== "\\" && !continues) return at;
  }
  return -1;
}

/** The first build-machine folder `text` names, with its line (1-based); undefined when none. */
export function findLocalPath(text: string, paths: readonly string[]): { path: string; line: number } | undefined {
  for (const path of paths) {
    const at = findPath(text, path);
    if (at >= 0) return { path, line: text.slice(0, at).split("\n").length };
  }
  return undefined;
}

/**
 * Does a text hold an absolute path-like token: `/a/b`, `~/a`, `C:\a`, `\\server\share`, `file:///a`?
 * URLs (`https://host/a/b`) and repo-relative paths (`data/x.parquet`, `amy/amy1.png`) are not.
 */
export function absolutePathIn(text: string): string | undefined {
  for (const token of text.split(/[\s"'`()<>[\]{},;=|]+/)) {
    if (/^(?:\/(?![/\s])[^/]+\/|~[\\/]|[A-Za-z]:[\\/]|\\\\[^\\]|file:\/\/)/.test(token)) return token;
  }
  return undefined;
}

/** `key.path[0]` of every string value in a JSON value that holds an absolute path-like token. */
export function absolutePathsInJson(value: unknown, path = ""): { key: string; token: string }[] {
  if (typeof value === "string") {
    const token = absolutePathIn(value);
    return token === undefined ? [] : [{ key: path || "(root)", token }];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => absolutePathsInJson(item, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => absolutePathsInJson(item, path ? `${path}.${key}` : key));
  }
  return [];
}

/** Release-relative POSIX paths of every file under `folder` but the Parquet shards and our staging folder. */
async function textFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() || e.isSymbolicLink()) // a Hub snapshot's files are links to blobs
    .map((e) => relative(folder, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).split(sep).join("/"))
    .filter((name) => !name.endsWith(".parquet") && !name.startsWith(".idclusters-staging/"))
    .sort();
}

/** One problem per text file of the release that names a build-machine folder. */
export async function checkTextFilesForLocalPaths(folder: string, paths: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const name of await textFiles(folder)) {
    const bytes = await readFile(join(folder, name)).catch(() => undefined);
    if (!bytes || bytes.includes(0)) continue; // unreadable or binary: not text
    const found = findLocalPath(bytes.toString("utf8"), paths);
    if (found) problems.push(`${name} line ${found.line}: names ${found.path}, a folder of the machine that built or verifies the release`);
  }
  return problems;
}
