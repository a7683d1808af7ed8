/**
 * Streams one file from a resolve URL into the cache's `blobs/<etag>`, the way the Python client
 * does (shared/docs/hub-protocol.md, "Cache layout"): bytes go to `blobs/<etag>.incomplete`, a
 * partial file left by an earlier run, a dropped connection or a transfer silent for
 * `HF_HUB_DOWNLOAD_TIMEOUT` (aborted by `createHubFetch`) is resumed with `Range: bytes=<have>-`,
 * the content is checked against the listed hash and only then renamed.
 */
import { open, rename, rm, stat } from "node:fs/promises";
import { RuntimeError } from "../common/errors.ts";
import { gitBlobSha1OfFile, sha256OfFile } from "../common/file-hashes.ts";
import { describeRequest, describeRequestWithHost } from "./describe-request.ts";
import { createHubFetch } from "./hub-fetch.ts";
import { isRetryableStatus } from "./retrying-fetch.ts";
import { RetryableError, parseRetryAfter, withRetries } from "./with-retries.ts";
import type { RetryPolicy } from "./with-retries.ts";

export interface ExpectedContent {
  /** Size in bytes, from the listing. */
  size: number;
  /** `sha256` for LFS files (`lfs.oid`), `git-sha1` for regular files (`oid`). */
  algorithm: "sha256" | "git-sha1";
  /** Lowercase hex digest. */
  digest: string;
}

export interface DownloadBlobParams {
  /** Resolve URL of the file at a commit. */
  url: string;
  /** Sent as a Bearer header, never in the URL. */
  accessToken?: string;
  /** Final path `blobs/<etag>`; the download goes to `<blobPath>.incomplete` first. */
  blobPath: string;
  expected: ExpectedContent;
  /** Repo path, for messages. */
  displayPath: string;
  /** Plain fetch: this function does its own retrying, resuming from the bytes on disk. */
  fetch?: typeof fetch;
  retryPolicy?: RetryPolicy;
  /** `HubSettings.offline`: refuse the request; defaults to `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /**
   * `HubSettings.downloadTimeoutMs`: headers wait, and longest silence mid-body before the
   * transfer is aborted and resumed; defaults to `HF_HUB_DOWNLOAD_TIMEOUT`.
   */
  downloadTimeoutMs?: number;
  /** Called with each chunk's size as it reaches the disk. */
  onBytes?: (bytes: number) => void;
}

/** Downloads and verifies one blob; returns the number of bytes fetched over the network. */
export async function downloadBlob(params: DownloadBlobParams): Promise<number> {
  const fetchImpl = createHubFetch({
    ...(params.fetch && { fetch: params.fetch }),
    ...(params.offline !== undefined && { offline: params.offline }),
    ...(params.downloadTimeoutMs !== undefined && { downloadTimeoutMs: params.downloadTimeoutMs }),
    purpose: "download",
  });
  const request = describeRequestWithHost("GET", params.url);
  const partialPath = `${params.blobPath}.incomplete`;
  const { size } = params.expected;
  let fetched = 0;

  await withRetries(
    async () => {
      let have = await sizeOf(partialPath);
      if (have > size) {
        await rm(partialPath, { force: true });
        have = 0;
      }
      if (have === size && size > 0) return;

      const response = await fetchImpl(params.url, {
        headers: {
          ...(params.accessToken && { Authorization: `Bearer ${params.accessToken}` }),
          ...(have > 0 && { Range: `bytes=${have}-` }),
        },
      });
      if (isRetryableStatus(response.status)) {
        await response.body?.cancel();
        throw new RetryableError(`status ${response.status}`, parseRetryAfter(response.headers.get("retry-after")));
      }
      if (response.status === 416) {
        // Our partial file does not fit the server's content: start again from zero.
        await response.body?.cancel();
        await rm(partialPath, { force: true });
        throw new RetryableError("status 416, restarting the download");
      }
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        throw new RuntimeError(
          `download of ${params.displayPath} failed: ${request} answered status ${response.status}${serverMessage(text)}`,
        );
      }
      let append = false;
      if (response.status === 206 && have > 0) {
        const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
        if (start === undefined || Number(start) !== have) {
          await response.body?.cancel();
          await rm(partialPath, { force: true });
          throw new RetryableError(`unexpected Content-Range for ${params.displayPath}, restarting`);
        }
        append = true;
      }
      // A 200 answer to a ranged request is the whole file: overwrite.
      const file = await open(partialPath, append ? "a" : "w");
      let written = append ? have : 0;
      try {
        if (response.body) {
          const reader = response.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            await file.write(value);
            written += value.byteLength;
            fetched += value.byteLength;
            params.onBytes?.(value.byteLength);
          }
        }
      } finally {
        await file.close();
      }
      if (written < size) throw new RetryableError(`body of ${params.displayPath} ended after ${written} of ${size} bytes`);
      if (written > size) {
        await rm(partialPath, { force: true });
        throw new RuntimeError(`${params.displayPath}: the Hub sent ${written} bytes, the listing says ${size}`);
      }
    },
    { describe: describeRequest("GET", params.url), policy: params.retryPolicy },
  ).catch((error: unknown) => {
    // A status or short body that was retried to the end: say where it came from.
    if (error instanceof RetryableError) throw new RuntimeError(`${request}: ${error.reason}`, { cause: error });
    throw error;
  });

  if (size === 0) await (await open(partialPath, "a")).close();
  const actual = await digestOf(partialPath, params.expected.algorithm);
  if (actual !== params.expected.digest.toLowerCase()) {
    await rm(partialPath, { force: true });
    throw new RuntimeError(
      `${params.displayPath}: downloaded content has ${params.expected.algorithm} ${actual}, ` +
        `the Hub listed ${params.expected.digest}; the file was deleted, run the pull again`,
    );
  }
  await rename(partialPath, params.blobPath);
  return fetched;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function digestOf(path: string, algorithm: ExpectedContent["algorithm"]): Promise<string> {
  return algorithm === "sha256" ? sha256OfFile(path) : gitBlobSha1OfFile(path);
}

function serverMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: unknown };
    if (typeof json.error === "string") return `: ${json.error}`;
  } catch {
    // not JSON
  }
  return "";
}
