/**
 * Publishes a local folder to a Hub repo as ONE commit: new and changed files, plus deletion of
 * remote files under managed globs (stale `data/` shards) that the folder no longer has. Files
 * whose content equals the remote one are left out, so pushing the same folder twice makes no
 * second commit. The commit names the head it was computed against (`parentCommit`), so a
 * concurrent change makes the Hub refuse it (412) instead of silently mixing two states
 * (shared/docs/hub-protocol.md, "Write calls").
 */
import { openAsBlob } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { HubApiError, commitIter, listCommits } from "@huggingface/hub";
import type { CommitOperation, ListFileEntry } from "@huggingface/hub";
import picomatch from "picomatch";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { log, registerSecret } from "../common/logger.ts";
import { startProgress } from "../common/progress.ts";
import { createRepoIfMissing } from "./create-repo-if-missing.ts";
import { createTag } from "./create-tag.ts";
import { gitBlobSha1OfFile, sha256OfFile } from "../common/file-hashes.ts";
import { toHubFailure } from "./hub-failure.ts";
import { parseHubRepo, webRoutePrefix } from "./repo-designation.ts";
import type { HubRepoType } from "./repo-designation.ts";
import { readRepoHead, type RepoHead } from "./read-repo-head.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";
import { unsafeRepoPathReason } from "./safe-repo-path.ts";
import type { RetryPolicy } from "./with-retries.ts";

export interface PushFolderParams {
  /** `namespace/name`; created when missing. */
  repo: string;
  /** Default "dataset". */
  repoType?: HubRepoType;
  /** Local folder whose files become the repo's files (paths relative to it). */
  folder: string;
  /** Commit title. Default "Upload with idclusters". */
  message?: string;
  /** Commit description. */
  description?: string;
  /** Create the repo private when it does not exist (an existing repo keeps its visibility). */
  private?: boolean;
  /** Open a pull request instead of committing to the branch. */
  createPr?: boolean;
  /** Tag to put on the new commit (or on the head when nothing changed). */
  tag?: string;
  /** Remote files matching these globs that the folder lacks are deleted in the same commit. */
  deleteGlobs?: string[];
  /** Branch to commit to. Default "main". */
  branch?: string;
  hubUrl: string;
  /** Required: the Hub refuses anonymous writes. */
  accessToken?: string;
  /** `HubSettings.offline` and timeouts (default: from the environment, as resolveHubSettings reads them). */
  offline?: boolean;
  etagTimeoutMs?: number;
  downloadTimeoutMs?: number;
  /** Base fetch; every call is wrapped with retries. */
  fetch?: typeof fetch;
  retryPolicy?: RetryPolicy;
  /**
   * Compute the diff against the branch head and stop: no token needed (public repos list
   * anonymously), nothing created, committed or tagged; a missing repo makes every file "added".
   */
  dryRun?: boolean;
  /**
   * SHA-256 already known for local files (relative path -> hex), trusted instead of rehashing:
   * a caller that just wrote and hashed a release folder saves a pass over GBs of shards.
   */
  localSha256?: Record<string, string>;
  /**
   * The head this push was planned against. When the branch head is anything else the push stops
   * before uploading, and the commit names it as `parentCommit`, so a change landing meanwhile
   * makes the Hub refuse it (412): what was planned is what is committed, or nothing is.
   */
  parentCommit?: string;
  /** Push only these folder files (relative POSIX paths); default every file of the folder. */
  files?: string[];
  /** Test hook: runs after the remote state was read and before the commit is sent. */
  beforeCommit?: (state: { parentCommit: string }) => Promise<void>;
}

export interface PushFolderResult {
  /** False when the folder already matched the remote ("nothing to publish") or on a dry run. */
  committed: boolean;
  /** The new commit, or the unchanged head when nothing was committed ("" when a dry run found no repo). */
  commitOid: string;
  /** Dry run only: the repo does not exist yet (a push would create it). */
  repoMissing?: boolean;
  commitUrl: string;
  pullRequestUrl?: string;
  /** Tag created or confirmed on `commitOid`. */
  tag?: string;
  added: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

// Like `huggingface_hub.upload_folder`: never publish git metadata or the Hub client's own cache;
// nor idclusters' own bookkeeping in a release folder (its ownership marker and staging folder).
const IGNORED_LOCAL = picomatch([".git/**", ".cache/huggingface/**", ".idclusters-release.json", ".idclusters-release.lock*", ".idclusters-staging/**"], { dot: true });

export async function pushFolder(params: PushFolderParams): Promise<PushFolderResult> {
  const repo = parseHubRepo(params.repo, params.repoType ?? "dataset");
  // Callers other than the CLI (the config path) may not have gone through resolveHubSettings.
  registerSecret(params.accessToken);
  const branch = params.branch ?? "main";
  const title = params.message ?? "Upload with idclusters";
  if (!params.accessToken && !params.dryRun) throw new UsageError("push needs a Hub token: set HF_TOKEN or pass --token");
  const folderStat = await stat(params.folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new UsageError(`--folder: ${params.folder} is not a directory`);
  const localFiles = params.files ? [...params.files].sort() : await listLocalFiles(params.folder);

  const fetch = createRetryingFetch({
    fetch: params.fetch,
    policy: params.retryPolicy,
    ...(params.offline !== undefined && { offline: params.offline }),
    ...(params.etagTimeoutMs !== undefined && { etagTimeoutMs: params.etagTimeoutMs }),
    ...(params.downloadTimeoutMs !== undefined && { downloadTimeoutMs: params.downloadTimeoutMs }),
  });
  // A dry run may be anonymous; every write below runs only with a token (checked above).
  const client = { hubUrl: params.hubUrl, accessToken: params.accessToken as string, fetch };
  const where = `${repo.name}@${branch}`;

  let head: RepoHead;
  try {
    const read = () => readRepoHead({ repo: repo.name, repoType: repo.type, branch, ...client });
    head = await read();
    if (!head.exists && !params.dryRun) {
      // Created by someone else meanwhile (409): fine, we commit on top of whatever is there.
      const created = await createRepoIfMissing({ repo: repo.name, repoType: repo.type, ...(params.private !== undefined && { private: params.private }), ...client });
      if (created) log.info(`created ${repo.type} repo ${repo.name}${params.private === undefined ? "" : params.private ? " (private)" : " (public)"}`);
      head = await read();
      if (!head.exists) throw new RuntimeError(`${repo.name} cannot be read after creating it (missing or not visible with this token)`);
    }
  } catch (error) {
    throw toHubFailure(error, `push ${where}`);
  }
  const repoMissing = !head.exists;
  const parentCommit = head.exists ? head.commit : "";
  const remote = head.exists ? head.files : new Map<string, ListFileEntry>();
  if (params.parentCommit !== undefined && parentCommit !== params.parentCommit) {
    throw new RuntimeError(
      `push ${where}: the branch moved from ${params.parentCommit || "(no repo)"} to ${parentCommit || "(no repo)"} since the release was planned; ` +
        `nothing was changed: rerun to plan against the new head`,
    );
  }

  const added: string[] = [];
  const updated: string[] = [];
  const unchanged: string[] = [];
  const operations: CommitOperation[] = [];
  for (const path of localFiles) {
    const localPath = join(params.folder, ...path.split("/"));
    const existing = remote.get(path);
    if (existing && (await sameContent(localPath, existing, params.localSha256?.[path]))) {
      unchanged.push(path);
      continue;
    }
    (existing ? updated : added).push(path);
    // Disk-backed Blob: read in slices while hashing and uploading, never held whole in memory.
    operations.push({ operation: "addOrUpdate", path, content: await openAsBlob(localPath) });
  }
  const local = new Set(localFiles);
  const managed = params.deleteGlobs?.length ? picomatch(params.deleteGlobs, { dot: true }) : () => false;
  // `.gitattributes` decides which files are LFS: a delete glob must never remove it by accident.
  const deleted = [...remote.keys()].filter((path) => path !== ".gitattributes" && !local.has(path) && managed(path)).sort();
  for (const path of deleted) operations.push({ operation: "delete", path });

  const summary = { added, updated, deleted, unchanged };
  if (params.dryRun) {
    return { committed: false, commitOid: parentCommit, commitUrl: parentCommit ? commitUrlOf(parentCommit) : "", ...(repoMissing && { repoMissing }), ...summary };
  }
  if (operations.length === 0) {
    log.info(`nothing to publish: ${where} already holds the ${unchanged.length} files of ${params.folder}`);
    const tag = params.tag ? await tagCommit(parentCommit) : undefined;
    return { committed: false, commitOid: parentCommit, commitUrl: commitUrlOf(parentCommit), ...(tag && { tag }), ...summary };
  }

  await params.beforeCommit?.({ parentCommit });
  log.info(
    `pushing to ${where}: ${added.length} added, ${updated.length} updated, ${deleted.length} deleted, ` +
      `${unchanged.length} unchanged`,
  );
  const progress = startProgress({ label: `push ${repo.name}`, total: added.length + updated.length, unit: "files" });
  const uploaded = new Set<string>();
  let output;
  try {
    const iterator = commitIter({
      repo,
      title,
      ...(params.description && { description: params.description }),
      operations,
      branch,
      parentCommit,
      ...(params.createPr && { isPullRequest: true }),
      // The Hub's basic LFS transfer; our emulator and proxies speak it, Xet needs its own CAS.
      useXet: false,
      ...client,
    });
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        output = next.value;
        break;
      }
      const event = next.value;
      if (event.event === "fileProgress" && event.state === "uploading" && event.progress >= 1 && !uploaded.has(event.path)) {
        uploaded.add(event.path);
        progress.tick();
      }
    }
  } catch (error) {
    if (error instanceof HubApiError && error.statusCode === 412 && !params.createPr) {
      output = await landedEarlier(error);
    } else {
      throw toHubFailure(error, `push ${where}`);
    }
  } finally {
    progress.tick(added.length + updated.length - uploaded.size);
    progress.stop();
  }
  if (!output) throw new RuntimeError(`push ${where}: the Hub answered the commit without a commit id`);

  const commitOid = output.commit.oid;
  log.info(`committed ${commitOid} to ${where}${output.pullRequestUrl ? ` as ${output.pullRequestUrl}` : ""}`);
  const tag = params.tag ? await tagCommit(commitOid) : undefined;
  return {
    committed: true,
    commitOid,
    commitUrl: output.commit.url || commitUrlOf(commitOid),
    ...(output.pullRequestUrl && { pullRequestUrl: output.pullRequestUrl }),
    ...(tag && { tag }),
    ...summary,
  };

  function commitUrlOf(oid: string): string {
    return `${params.hubUrl}/${webRoutePrefix(repo)}/commit/${oid}`;
  }

  async function tagCommit(oid: string): Promise<string> {
    await createTag({ repo, tag: params.tag!, revision: oid, message: title, ...client }).catch((error: unknown) => {
      throw toHubFailure(error, `tag ${params.tag} on ${repo.name}@${oid.slice(0, 8)} (the commit itself is done)`);
    });
    return params.tag!;
  }

  /**
   * A 412 means the branch head is no longer `parentCommit`. Either someone else committed (fail,
   * nothing changed), or our own commit landed and its answer was lost, so the retried POST saw
   * the head it had itself moved: the head's parent is our parent and its title is ours.
   */
  async function landedEarlier(error: HubApiError): Promise<{ commit: { oid: string; url: string }; pullRequestUrl?: string }> {
    const recent: { oid: string; title: string }[] = [];
    try {
      for await (const commit of listCommits({ repo, revision: branch, batchSize: 2, ...client })) {
        recent.push(commit);
        if (recent.length === 2) break;
      }
    } catch {
      // fall through to the stale-parent error below
    }
    const [head, previous] = recent;
    if (head && previous && previous.oid === parentCommit && head.title === title) {
      log.warn(`the commit request was retried after it had landed; using commit ${head.oid}`);
      return { commit: { oid: head.oid, url: commitUrlOf(head.oid) } };
    }
    throw new RuntimeError(
      `push ${where}: the branch moved from ${parentCommit} to ${head?.oid ?? "an unknown commit"} while pushing; ` +
        `nothing was changed, rerun the push (Hub: ${error.message})`,
    );
  }
}

/** Compares with the hash the Hub listed: size first (free), then SHA-256 (LFS) or git SHA-1. */
async function sameContent(localPath: string, remote: ListFileEntry, knownSha256?: string): Promise<boolean> {
  const { size } = await stat(localPath);
  if (remote.lfs) return remote.lfs.size === size && (knownSha256 ?? (await sha256OfFile(localPath))) === remote.lfs.oid;
  return remote.size === size && (await gitBlobSha1OfFile(localPath)) === remote.oid;
}

/** Relative POSIX paths of the regular files under `folder` (symlinks followed), sorted. */
export async function listLocalFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(full)).isDirectory());
      if (isDir) {
        if (!IGNORED_LOCAL(`${path}/x`)) await walk(full, path);
      } else if (!IGNORED_LOCAL(path)) {
        const reason = unsafeRepoPathReason(path);
        if (reason) throw new UsageError(`--folder: ${full} cannot be a repo path: it ${reason}`);
        out.push(path);
      }
    }
  }
  await walk(folder, "");
  return out.sort();
}
