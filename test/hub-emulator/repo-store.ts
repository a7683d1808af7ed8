/**
 * The emulator's on-disk state: a content-addressed object store shared by all repos, and per repo
 * its metadata, immutable commit objects (each holding the full file map of its snapshot) and one
 * refs file (branches, tags, PR refs).
 *
 *   <storage>/objects/<sha256[0..2]>/<sha256>      file contents, regular and LFS alike
 *   <storage>/repos/<type>s/<ns>/<name>/repo.json   visibility, _id (written last on creation)
 *   <storage>/repos/<type>s/<ns>/<name>/commits/<40-hex>.json
 *   <storage>/repos/<type>s/<ns>/<name>/refs.json   {branches, tags, prs, nextPr}
 *   <storage>/repos/<type>s/<ns>/<name>/lfs/<sha256> marker: this repo may reference the LFS object
 *
 * Every file is written to <storage>/tmp, synced and renamed into place, and a commit becomes
 * visible only when refs.json is renamed over, under a per-repo lock: a crash leaves at worst an
 * unreferenced commit object, never a half commit.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, mkdir, open, readFile, rename, rm, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DEFAULT_GITATTRIBUTES, isLfsPath } from "./git-attributes.ts";
import { gitBlobSha1, isCommitId, lfsPointerOid, sha256Hex } from "./git-objects.ts";
import { entryNotFound, HttpError, repoNotFound, revisionNotFound } from "./http-error.ts";
import type { GatedSetting, RepoType } from "./types.ts";

export interface FileRecord {
  sha256: string;
  size: number;
  lfs: boolean;
  /** Git object id: blob sha1 of the content, or of the LFS pointer. */
  oid: string;
}

export interface CommitRecord {
  id: string;
  parents: string[];
  title: string;
  message: string;
  author: string;
  date: string;
  files: Record<string, FileRecord>;
}

export interface RepoMeta {
  _id: string;
  /** "ns/name" */
  name: string;
  type: RepoType;
  private: boolean;
  /** Gated access; absent (older storage) means false. */
  gated?: GatedSetting;
  createdAt: string;
  license?: string;
}

export interface RepoRefs {
  branches: Record<string, string>;
  tags: Record<string, string>;
  /** PR number -> head commit of refs/pr/N. */
  prs: Record<string, string>;
  nextPr: number;
}

export type CommitOp =
  | ({ kind: "add"; path: string } & FileRecord)
  | { kind: "delete"; path: string }
  | { kind: "deleteFolder"; path: string };

export interface CommitParams {
  type: RepoType;
  name: string;
  /** Branch name or "refs/pr/N". */
  branch: string;
  /** Open a new PR ref on top of `branch` instead of moving it. */
  createPr?: boolean;
  /** When set, the target's head must be this commit (else 412); with `createPr`, the PR's base commit. */
  parentCommit?: string;
  title: string;
  message?: string;
  author: string;
  ops: CommitOp[];
}

export const DEFAULT_BRANCH = "main";

/** Branch and tag names the emulator accepts (git's rules, simplified). */
export function isValidRefName(name: string): boolean {
  return (
    /^[A-Za-z0-9._\-/]+$/.test(name) &&
    !name.startsWith("refs/") &&
    !name.split("/").some((part) => part === "" || part === "." || part === ".." || part.endsWith(".lock")) &&
    !/^[0-9a-f]{40}$/.test(name) &&
    name !== "HEAD"
  );
}

export class RepoStore {
  private readonly commitCache = new Map<string, CommitRecord>();
  private readonly lastCommitCache = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, "objects"), { recursive: true });
    await mkdir(join(this.root, "repos"), { recursive: true });
    // Leftovers of a crash are never referenced; drop them.
    await rm(join(this.root, "tmp"), { recursive: true, force: true });
    await mkdir(join(this.root, "tmp"), { recursive: true });
  }

  /** A per-storage secret for signing LFS upload URLs; persisted so URLs survive a restart. */
  async secret(): Promise<string> {
    const path = join(this.root, "secret");
    try {
      return (await readFile(path, "utf8")).trim();
    } catch {
      const secret = randomBytes(32).toString("hex");
      await this.writeAtomic(path, secret);
      return secret;
    }
  }

  repoKey(type: RepoType, name: string): string {
    return `${type}s/${name}`;
  }

  private repoDir(type: RepoType, name: string): string {
    return join(this.root, "repos", `${type}s`, ...name.split("/"));
  }

  objectPath(sha256: string): string {
    return join(this.root, "objects", sha256.slice(0, 2), sha256);
  }

  private tmpPath(): string {
    return join(this.root, "tmp", randomBytes(12).toString("hex"));
  }

  private async writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    const tmp = this.tmpPath();
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await mkdir(join(path, ".."), { recursive: true });
    await rename(tmp, path);
  }

  /** Runs `fn` alone for this repo: ref moves are serialised so a stale parent is always seen. */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  // ---- objects ----

  async hasObject(sha256: string): Promise<boolean> {
    return exists(this.objectPath(sha256));
  }

  async putBytes(content: Uint8Array): Promise<{ sha256: string; size: number }> {
    const sha256 = sha256Hex(content);
    if (!(await this.hasObject(sha256))) await this.writeAtomic(this.objectPath(sha256), content);
    return { sha256, size: content.byteLength };
  }

  /** Stores a streamed upload, refusing it (400) unless its SHA-256 and size are the announced ones. */
  async putStream(body: Readable, expected: { sha256: string; size: number }): Promise<void> {
    const tmp = this.tmpPath();
    const hash = createHash("sha256");
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.byteLength;
    });
    try {
      await pipeline(body, createWriteStream(tmp));
      const sha256 = hash.digest("hex");
      if (size !== expected.size || sha256 !== expected.sha256) {
        throw new HttpError(
          400,
          `Uploaded content does not match the LFS object: got sha256 ${sha256} size ${size}, expected sha256 ${expected.sha256} size ${expected.size}`,
        );
      }
      const handle = await open(tmp, "r+");
      await handle.sync();
      await handle.close();
      await mkdir(join(this.objectPath(expected.sha256), ".."), { recursive: true });
      await rename(tmp, this.objectPath(expected.sha256));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async readObject(sha256: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(this.objectPath(sha256)));
  }

  /** Whether `type/name` may reference the LFS object (uploaded to it or seeded into it). */
  async repoHasLfs(type: RepoType, name: string, sha256: string): Promise<boolean> {
    return (await exists(join(this.repoDir(type, name), "lfs", sha256))) && (await this.hasObject(sha256));
  }

  async markLfs(type: RepoType, name: string, sha256: string): Promise<void> {
    const marker = join(this.repoDir(type, name), "lfs", sha256);
    if (!(await exists(marker))) await this.writeAtomic(marker, "");
  }

  // ---- repos ----

  async getRepo(type: RepoType, name: string): Promise<RepoMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(this.repoDir(type, name), "repo.json"), "utf8")) as RepoMeta;
    } catch {
      return undefined;
    }
  }

  async requireRepo(type: RepoType, name: string): Promise<RepoMeta> {
    const meta = await this.getRepo(type, name);
    if (!meta) throw repoNotFound(name);
    return meta;
  }

  /** Creates a repo whose first commit holds the default `.gitattributes` (plus `files`); 409 if it exists. */
  async createRepo(params: {
    type: RepoType;
    name: string;
    private: boolean;
    author: string;
    license?: string;
    files?: { path: string; content: Uint8Array }[];
  }): Promise<{ meta: RepoMeta; commitId: string }> {
    const { type, name } = params;
    return this.withLock(this.repoKey(type, name), async () => {
      if (await this.getRepo(type, name)) throw new HttpError(409, `You already created this ${type} repo: ${name}`);
      const dir = this.repoDir(type, name);
      // A crashed earlier creation may have left commits behind without repo.json: start clean.
      await rm(dir, { recursive: true, force: true });
      const files: Record<string, FileRecord> = {};
      const initial = [{ path: ".gitattributes", content: Buffer.from(DEFAULT_GITATTRIBUTES, "utf8") }, ...(params.files ?? [])];
      const gitattributes = new TextDecoder().decode(initial.findLast((f) => f.path === ".gitattributes")!.content);
      for (const file of initial) {
        files[file.path] = await this.storeContent(type, name, file.path, file.content, gitattributes);
      }
      const commit = this.makeCommit({ parents: [], title: "initial commit", message: "", author: params.author, files });
      await this.writeCommit(type, name, commit);
      await this.writeRefs(type, name, { branches: { [DEFAULT_BRANCH]: commit.id }, tags: {}, prs: {}, nextPr: 1 });
      const meta: RepoMeta = {
        _id: randomBytes(12).toString("hex"),
        name,
        type,
        private: params.private,
        createdAt: new Date().toISOString(),
        ...(params.license ? { license: params.license } : {}),
      };
      // repo.json last: the repo exists from this rename on.
      await this.writeAtomic(join(dir, "repo.json"), JSON.stringify(meta));
      return { meta, commitId: commit.id };
    });
  }

  /** Stores content and returns its record, LFS or regular by the `.gitattributes` rule (seeding, repo creation). */
  async storeContent(type: RepoType, name: string, path: string, content: Uint8Array, gitattributes: string | undefined): Promise<FileRecord> {
    const { sha256, size } = await this.putBytes(content);
    const lfs = isLfsPath(path, size, gitattributes);
    if (lfs) await this.markLfs(type, name, sha256);
    return { sha256, size, lfs, oid: lfs ? lfsPointerOid(sha256, size) : gitBlobSha1(content) };
  }

  async deleteRepo(type: RepoType, name: string): Promise<void> {
    await this.withLock(this.repoKey(type, name), async () => {
      await this.requireRepo(type, name);
      const trash = this.tmpPath();
      await rename(this.repoDir(type, name), trash);
      await rm(trash, { recursive: true, force: true });
    });
  }

  async updateRepo(type: RepoType, name: string, change: Partial<Pick<RepoMeta, "private" | "gated">>): Promise<RepoMeta> {
    return this.withLock(this.repoKey(type, name), async () => {
      const meta = { ...(await this.requireRepo(type, name)), ...change };
      await this.writeAtomic(join(this.repoDir(type, name), "repo.json"), JSON.stringify(meta));
      return meta;
    });
  }

  // ---- refs ----

  async readRefs(type: RepoType, name: string): Promise<RepoRefs> {
    try {
      return JSON.parse(await readFile(join(this.repoDir(type, name), "refs.json"), "utf8")) as RepoRefs;
    } catch {
      throw repoNotFound(name);
    }
  }

  private async writeRefs(type: RepoType, name: string, refs: RepoRefs): Promise<void> {
    await this.writeAtomic(join(this.repoDir(type, name), "refs.json"), JSON.stringify(refs));
  }

  /** A revision (branch, tag, refs/heads|tags|pr/..., HEAD, or a full commit id of this repo) -> commit id. */
  async resolveRev(type: RepoType, name: string, rev: string): Promise<string | undefined> {
    const refs = await this.readRefs(type, name);
    return resolveIn(refs, rev, (id) => this.commitExists(type, name, id));
  }

  async requireRev(type: RepoType, name: string, rev: string): Promise<string> {
    const id = await this.resolveRev(type, name, rev);
    if (!id) throw revisionNotFound(rev);
    return id;
  }

  async createBranch(type: RepoType, name: string, branch: string, opts: { startingPoint?: string; empty?: boolean; overwrite?: boolean; author: string }): Promise<string> {
    if (!isValidRefName(branch)) throw new HttpError(400, `Invalid branch name: ${branch}`);
    return this.withLock(this.repoKey(type, name), async () => {
      const refs = await this.readRefs(type, name);
      if (refs.branches[branch] !== undefined && !opts.overwrite) throw new HttpError(409, `Reference already exists: refs/heads/${branch}`);
      let target: string;
      if (opts.empty) {
        const commit = this.makeCommit({ parents: [], title: "Empty branch", message: "", author: opts.author, files: {} });
        await this.writeCommit(type, name, commit);
        target = commit.id;
      } else {
        const start = opts.startingPoint ?? DEFAULT_BRANCH;
        const resolved = await resolveIn(refs, start, (id) => this.commitExists(type, name, id));
        if (!resolved) throw revisionNotFound(start);
        target = resolved;
      }
      refs.branches[branch] = target;
      await this.writeRefs(type, name, refs);
      return target;
    });
  }

  async deleteBranch(type: RepoType, name: string, branch: string): Promise<void> {
    await this.withLock(this.repoKey(type, name), async () => {
      const refs = await this.readRefs(type, name);
      if (refs.branches[branch] === undefined) throw revisionNotFound(branch);
      if (branch === DEFAULT_BRANCH) throw new HttpError(403, `Cannot delete the default branch ${branch}`);
      delete refs.branches[branch];
      await this.writeRefs(type, name, refs);
    });
  }

  async createTag(type: RepoType, name: string, tag: string, rev: string): Promise<string> {
    if (!isValidRefName(tag)) throw new HttpError(400, `Invalid tag name: ${tag}`);
    return this.withLock(this.repoKey(type, name), async () => {
      const refs = await this.readRefs(type, name);
      const target = await resolveIn(refs, rev, (id) => this.commitExists(type, name, id));
      if (!target) throw revisionNotFound(rev);
      if (refs.tags[tag] !== undefined) throw new HttpError(409, `Tag already exists: ${tag}`);
      refs.tags[tag] = target;
      await this.writeRefs(type, name, refs);
      return target;
    });
  }

  async deleteTag(type: RepoType, name: string, tag: string): Promise<void> {
    await this.withLock(this.repoKey(type, name), async () => {
      const refs = await this.readRefs(type, name);
      if (refs.tags[tag] === undefined) throw revisionNotFound(tag);
      delete refs.tags[tag];
      await this.writeRefs(type, name, refs);
    });
  }

  // ---- commits ----

  private commitPath(type: RepoType, name: string, id: string): string {
    return join(this.repoDir(type, name), "commits", `${id}.json`);
  }

  private async commitExists(type: RepoType, name: string, id: string): Promise<boolean> {
    return isCommitId(id) && exists(this.commitPath(type, name, id));
  }

  async getCommit(type: RepoType, name: string, id: string): Promise<CommitRecord> {
    const key = `${this.repoKey(type, name)}@${id}`;
    const cached = this.commitCache.get(key);
    if (cached) return cached;
    if (!isCommitId(id)) throw revisionNotFound(id);
    let commit: CommitRecord;
    try {
      commit = JSON.parse(await readFile(this.commitPath(type, name, id), "utf8")) as CommitRecord;
    } catch {
      throw revisionNotFound(id);
    }
    this.commitCache.set(key, commit);
    return commit;
  }

  /** First-parent history from `id`, newest first. */
  async *history(type: RepoType, name: string, id: string): AsyncGenerator<CommitRecord> {
    let next: string | undefined = id;
    while (next) {
      const commit = await this.getCommit(type, name, next);
      yield commit;
      next = commit.parents[0];
    }
  }

  private makeCommit(fields: Omit<CommitRecord, "id" | "date">): CommitRecord {
    const date = new Date().toISOString();
    const id = createHash("sha1")
      .update(JSON.stringify({ ...fields, date, nonce: randomBytes(8).toString("hex") }))
      .digest("hex");
    return { id, date, ...fields };
  }

  private async writeCommit(type: RepoType, name: string, commit: CommitRecord): Promise<void> {
    await this.writeAtomic(this.commitPath(type, name, commit.id), JSON.stringify(commit));
  }

  /**
   * Lands `ops` as one commit (or nothing at all). The contents must already be in the object
   * store. Returns the new commit id (the unchanged head when the operations change nothing and no
   * PR is asked for, as the Hub does for an empty commit) and the PR number when one was opened.
   */
  async commit(params: CommitParams): Promise<{ commitId: string; prNumber?: number }> {
    const { type, name } = params;
    return this.withLock(this.repoKey(type, name), async () => {
      const refs = await this.readRefs(type, name);
      const prMatch = /^refs\/pr\/(\d+)$/.exec(params.branch);
      const head = prMatch ? refs.prs[prMatch[1]!] : refs.branches[params.branch];
      if (!head) throw revisionNotFound(params.branch);
      let base = head;
      if (params.parentCommit !== undefined && params.createPr) {
        // Opening a PR, parentCommit is the commit the PR starts from (the client's CommitParams doc).
        if (!(await this.commitExists(type, name, params.parentCommit))) throw revisionNotFound(params.parentCommit);
        base = params.parentCommit;
      } else if (params.parentCommit !== undefined && params.parentCommit !== head) {
        throw new HttpError(412, `A commit has happened since. Please refresh and try again. (${params.branch} is at ${head}, not ${params.parentCommit})`);
      }
      const parent = await this.getCommit(type, name, base);
      const files: Record<string, FileRecord> = { ...parent.files };
      for (const op of params.ops) {
        if (op.kind === "add") {
          const { kind: _kind, path, ...record } = op;
          files[path] = record;
        } else if (op.kind === "delete") {
          if (!files[op.path]) throw entryNotFound(op.path);
          delete files[op.path];
        } else {
          const prefix = op.path.replace(/\/+$/, "") + "/";
          const under = Object.keys(files).filter((p) => p.startsWith(prefix));
          if (under.length === 0) throw entryNotFound(op.path);
          for (const p of under) delete files[p];
        }
      }
      const unchanged = sameFiles(parent.files, files);
      if (unchanged && !params.createPr) return { commitId: head };
      const commit = this.makeCommit({
        parents: [base],
        title: params.title,
        message: params.message ?? "",
        author: params.author,
        files,
      });
      await this.writeCommit(type, name, commit);
      let prNumber: number | undefined;
      if (params.createPr) {
        prNumber = refs.nextPr;
        refs.nextPr += 1;
        refs.prs[String(prNumber)] = commit.id;
      } else if (prMatch) {
        refs.prs[prMatch[1]!] = commit.id;
      } else {
        refs.branches[params.branch] = commit.id;
      }
      await this.writeRefs(type, name, refs);
      return { commitId: commit.id, ...(prNumber !== undefined ? { prNumber } : {}) };
    });
  }

  /**
   * The newest commit (first-parent walk from `headId`) that changed `path` (a file, or anything
   * under a folder): what the Hub reports as `lastCommit`.
   */
  async lastCommitFor(type: RepoType, name: string, headId: string, path: string, isDir: boolean): Promise<CommitRecord> {
    const key = `${this.repoKey(type, name)}@${headId}:${isDir ? "d" : "f"}:${path}`;
    const cached = this.lastCommitCache.get(key);
    if (cached) return this.getCommit(type, name, cached);
    const signature = (commit: CommitRecord): string => {
      if (!isDir) {
        const f = commit.files[path];
        return f ? `${f.oid}:${f.lfs}` : "";
      }
      const prefix = path === "" ? "" : path + "/";
      return Object.entries(commit.files)
        .filter(([p]) => p.startsWith(prefix))
        .map(([p, f]) => `${p}=${f.oid}`)
        .sort()
        .join("\n");
    };
    let found: CommitRecord | undefined;
    let current: CommitRecord | undefined;
    let currentSig = "";
    for await (const commit of this.history(type, name, headId)) {
      const sig = signature(commit);
      if (current && sig !== currentSig) break;
      if (!current) currentSig = sig;
      current = commit;
      found = commit;
    }
    this.lastCommitCache.set(key, found!.id);
    return found!;
  }

  async listRepos(): Promise<{ type: RepoType; name: string }[]> {
    const out: { type: RepoType; name: string }[] = [];
    for (const type of ["dataset", "model"] as const) {
      const base = join(this.root, "repos", `${type}s`);
      for (const ns of await readdir(base).catch(() => [] as string[])) {
        for (const repo of await readdir(join(base, ns)).catch(() => [] as string[])) out.push({ type, name: `${ns}/${repo}` });
      }
    }
    return out;
  }
}

async function resolveIn(refs: RepoRefs, rev: string, commitExists: (id: string) => Promise<boolean>): Promise<string | undefined> {
  if (rev === "HEAD") return refs.branches[DEFAULT_BRANCH];
  if (refs.branches[rev] !== undefined) return refs.branches[rev];
  if (refs.tags[rev] !== undefined) return refs.tags[rev];
  const qualified = /^refs\/(heads|tags|pr)\/(.+)$/.exec(rev);
  if (qualified) {
    const table = qualified[1] === "heads" ? refs.branches : qualified[1] === "tags" ? refs.tags : refs.prs;
    return table[qualified[2]!];
  }
  if (isCommitId(rev) && (await commitExists(rev))) return rev;
  return undefined;
}

function sameFiles(a: Record<string, FileRecord>, b: Record<string, FileRecord>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => b[k] !== undefined && b[k]!.oid === a[k]!.oid && b[k]!.lfs === a[k]!.lfs);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
