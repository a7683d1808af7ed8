/**
 * Downloads a repo at a revision into the Hub cache, in the Python client's layout
 * (shared/docs/hub-protocol.md, "Cache layout"):
 * `<cache>/datasets--ns--name/{blobs/<etag>, refs/<rev>, snapshots/<commit>/<path> -> ../../blobs/<etag>}`.
 * A cache filled here is usable by `huggingface_hub` and the other way round. Unlike the client's
 * `snapshotDownload`, this one filters with globs, downloads in parallel, resumes partial files,
 * verifies every hash and retries transient failures. In offline mode (`HF_HUB_OFFLINE`) it makes
 * no request and serves the revision from the cache (`findOfflineSnapshot`).
 */
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { datasetInfo, listFiles, modelInfo } from "@huggingface/hub";
import type { ListFileEntry } from "@huggingface/hub";
import pLimit from "p-limit";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { log, registerSecret } from "../common/logger.ts";
import { startProgress } from "../common/progress.ts";
import { downloadBlob } from "./download-blob.ts";
import type { ExpectedContent } from "./download-blob.ts";
import { toHubFailure } from "./hub-failure.ts";
import { resolveNetworkSettings } from "./hub-network-settings.ts";
import { findOfflineSnapshot } from "./offline-snapshot.ts";
import { createPathFilter } from "./path-filter.ts";
import { cacheFolderName, parseHubRepo, webRoutePrefix } from "./repo-designation.ts";
import type { HubRepo, HubRepoType } from "./repo-designation.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";
import { assertSafeRepoPath, unsafeRepoPathReason } from "./safe-repo-path.ts";
import { completeSnapshotFiles, linkTarget, patternKey, sizeOrUndefined, writeCompleteMarker } from "./snapshot-markers.ts";
import type { RetryPolicy } from "./with-retries.ts";

export interface PullSnapshotParams {
  /** `namespace/name`. */
  repo: string;
  /** Default "dataset". */
  repoType?: HubRepoType;
  /** Branch, tag or commit SHA. Default "main". */
  revision?: string;
  /** Only files matching one of these globs (picomatch, dotfiles included); all when absent or empty. */
  include?: string[];
  /** Files matching one of these globs are skipped, even when included. */
  exclude?: string[];
  /** Endpoint without trailing slash (see `resolveHubSettings`). */
  hubUrl: string;
  accessToken?: string;
  /** Hub cache root. */
  cacheDir: string;
  /** Files downloaded at once. Default 8. */
  concurrency?: number;
  /** Base fetch; every call is wrapped with retries. */
  fetch?: typeof fetch;
  retryPolicy?: RetryPolicy;
  /** `HubSettings.offline`: no request, the cache only; defaults to `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** `HubSettings.etagTimeoutMs`; defaults to `HF_HUB_ETAG_TIMEOUT`. */
  etagTimeoutMs?: number;
  /** `HubSettings.downloadTimeoutMs`; defaults to `HF_HUB_DOWNLOAD_TIMEOUT`. */
  downloadTimeoutMs?: number;
}

export interface PullSnapshotResult {
  /** `<cache>/<repo folder>/snapshots/<commit>`. */
  snapshotPath: string;
  /** Commit SHA the revision resolved to. */
  commit: string;
  /** Files in the snapshot after the filters. */
  files: number;
  /** Files fetched over the network in this run (0 when everything was cached). */
  downloaded: number;
  /** Bytes fetched over the network in this run. */
  bytes: number;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;
const ETAG = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export async function pullSnapshot(params: PullSnapshotParams): Promise<PullSnapshotResult> {
  const repo = parseHubRepo(params.repo, params.repoType ?? "dataset");
  // Callers other than the CLI (the config path) may not have gone through resolveHubSettings.
  registerSecret(params.accessToken);
  const revision = params.revision ?? "main";
  const where = `${repo.name}@${revision}`;
  // Settings not passed (callers that spread only some) come from the environment.
  const network = resolveNetworkSettings({
    ...(params.offline !== undefined && { offline: params.offline }),
    ...(params.etagTimeoutMs !== undefined && { etagTimeoutMs: params.etagTimeoutMs }),
    ...(params.downloadTimeoutMs !== undefined && { downloadTimeoutMs: params.downloadTimeoutMs }),
  });
  const retryingFetch = createRetryingFetch({ fetch: params.fetch, policy: params.retryPolicy, ...network });
  const client = { hubUrl: params.hubUrl, fetch: retryingFetch, ...(params.accessToken && { accessToken: params.accessToken }) };

  if (unsafeRepoPathReason(revision)) throw new UsageError(`--revision: "${revision}" is not a valid revision`);
  const repoDir = join(params.cacheDir, cacheFolderName(repo));
  const blobsDir = join(repoDir, "blobs");
  const markerKey = patternKey(params.include, params.exclude);

  if (network.offline) {
    const cached = await findOfflineSnapshot({
      repo,
      revision,
      cacheDir: params.cacheDir,
      ...(params.include && { include: params.include }),
      ...(params.exclude && { exclude: params.exclude }),
    });
    log.info(`offline: ${where} from the cache (${cached.commit.slice(0, 8)}): ${cached.files} files`);
    return { ...cached, downloaded: 0, bytes: 0 };
  }

  // A commit SHA names immutable content: when an earlier pull of this commit with these filters
  // completed and its files are still in place, no request is needed at all.
  if (COMMIT_SHA.test(revision)) {
    const files = await completeSnapshotFiles(repoDir, revision, markerKey);
    if (files !== undefined) {
      log.info(`${where} is complete in the cache: ${files} files`);
      return { snapshotPath: join(repoDir, "snapshots", revision), commit: revision, files, downloaded: 0, bytes: 0 };
    }
  }

  let commit: string;
  let entries: ListFileEntry[];
  try {
    commit = COMMIT_SHA.test(revision) ? revision : await resolveCommit(repo, revision, client);
    entries = [];
    for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...client })) {
      if (entry.type === "file") entries.push(entry);
    }
  } catch (error) {
    throw toHubFailure(error, `pull ${where}`);
  }

  // Every listed path and hash is checked before the first byte is written: a listing naming
  // `../x` must not be able to place a file outside the snapshot.
  for (const entry of entries) {
    assertSafeRepoPath(entry.path, where);
    const etag = entry.lfs?.oid ?? entry.oid ?? "";
    if (!ETAG.test(etag)) {
      throw new RuntimeError(`refusing remote file ${JSON.stringify(entry.path)} in ${where}: its hash "${etag}" is not a hex digest`);
    }
  }
  const selectedPath = createPathFilter(params.include, params.exclude);
  const selected = entries.filter((entry) => selectedPath(entry.path));

  const snapshotPath = join(repoDir, "snapshots", commit);
  await mkdir(blobsDir, { recursive: true });
  await mkdir(snapshotPath, { recursive: true });
  if (revision !== commit) {
    const refPath = join(repoDir, "refs", ...revision.split("/"));
    await mkdir(dirname(refPath), { recursive: true });
    await writeFile(refPath, commit);
  }

  const progress = startProgress({ label: `pull ${repo.name}`, total: selected.length, unit: "files" });
  const limit = pLimit(params.concurrency ?? 8);
  const blobDownloads = new Map<string, Promise<number>>();
  let downloaded = 0;
  let bytes = 0;
  try {
    await Promise.all(
      selected.map((entry) =>
        limit(async () => {
          const fetched = await placeFile(entry);
          if (fetched !== undefined) {
            downloaded++;
            bytes += fetched;
          }
          progress.tick();
        }),
      ),
    );
  } finally {
    limit.clearQueue();
    progress.stop();
  }
  await writeCompleteMarker(
    repoDir,
    commit,
    markerKey,
    selected.map((entry) => ({ path: entry.path, blob: entry.lfs?.oid ?? entry.oid ?? "", size: entry.lfs?.size ?? entry.size })),
  );
  log.info(`pulled ${where} (${commit.slice(0, 8)}): ${selected.length} files, ${downloaded} downloaded`);
  return { snapshotPath, commit, files: selected.length, downloaded, bytes };

  /** Puts one file into the snapshot; returns the bytes fetched, or undefined when it was cached. */
  async function placeFile(entry: ListFileEntry): Promise<number | undefined> {
    const expected: ExpectedContent = entry.lfs
      ? { size: entry.lfs.size, algorithm: "sha256", digest: entry.lfs.oid }
      : { size: entry.size, algorithm: "git-sha1", digest: entry.oid ?? "" };
    const blobPath = join(blobsDir, entry.lfs?.oid ?? entry.oid ?? "");
    const linkPath = resolve(snapshotPath, ...entry.path.split("/"));
    if (!linkPath.startsWith(snapshotPath + sep)) throw new RuntimeError(`refusing remote file ${entry.path} in ${where}`);
    const target = relative(dirname(linkPath), blobPath);

    // A blob only ever gets its final name after its hash was verified, so presence and size
    // are enough to trust it (as the Python client does).
    const blobReady = (await sizeOrUndefined(blobPath)) === expected.size;
    if (blobReady && (await linkTarget(linkPath)) === target) return undefined;

    let fetched: number | undefined;
    if (!blobReady) {
      // Two paths with the same content share one blob: download it once.
      const pending = blobDownloads.get(blobPath);
      if (pending) await pending;
      else {
        const download = fetchBlob(entry, blobPath, expected);
        blobDownloads.set(blobPath, download);
        fetched = await download;
      }
    }
    await mkdir(dirname(linkPath), { recursive: true });
    await rm(linkPath, { force: true });
    await symlink(target, linkPath);
    return fetched;
  }

  function fetchBlob(entry: ListFileEntry, blobPath: string, expected: ExpectedContent): Promise<number> {
    const url =
      `${params.hubUrl}/${webRoutePrefix(repo)}/resolve/${encodeURIComponent(commit)}/` +
      entry.path.split("/").map(encodeURIComponent).join("/");
    return downloadBlob({
      url,
      ...(params.accessToken && { accessToken: params.accessToken }),
      blobPath,
      expected,
      displayPath: `${where}/${entry.path}`,
      ...(params.fetch && { fetch: params.fetch }),
      ...(params.retryPolicy && { retryPolicy: params.retryPolicy }),
      offline: network.offline,
      downloadTimeoutMs: network.downloadTimeoutMs,
    }).catch((error: unknown) => {
      throw toHubFailure(error, `pull ${where}/${entry.path}`);
    });
  }
}

async function resolveCommit(
  repo: HubRepo,
  revision: string,
  client: { hubUrl: string; fetch: typeof fetch; accessToken?: string },
): Promise<string> {
  const info =
    repo.type === "model"
      ? await modelInfo({ name: repo.name, revision, additionalFields: ["sha"], ...client })
      : await datasetInfo({ name: repo.name, revision, additionalFields: ["sha"], ...client });
  if (typeof info.sha !== "string" || !COMMIT_SHA.test(info.sha)) {
    throw new RuntimeError(`the Hub gave no commit SHA for ${repo.name}@${revision}`);
  }
  return info.sha;
}
