/**
 * A repo's branch head and every file at it, read in two calls (info + recursive tree), or
 * "missing" when the repo does not exist (or is not visible with this token).
 */
import { datasetInfo, listFiles, modelInfo, repoExists } from "@huggingface/hub";
import type { HubRepoType } from "./repo-designation.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";

export interface ReadRepoHeadParams {
  /** `namespace/name`. */
  repo: string;
  /** Default "dataset". */
  repoType?: HubRepoType;
  /** Branch whose head is read. Default "main". */
  branch?: string;
  hubUrl: string;
  accessToken?: string;
  /** A retrying fetch (createRetryingFetch): these are reads, retries are safe. */
  fetch?: typeof fetch;
}

export type RepoHead =
  | { exists: false }
  | {
      exists: true;
      /** Head commit of the branch. */
      commit: string;
      /** Path -> SHA-256 for LFS files, git blob SHA-1 for regular files, as the Hub lists them. */
      files: Record<string, string>;
    };

export async function readRepoHead(params: ReadRepoHeadParams): Promise<RepoHead> {
  const type = params.repoType ?? "dataset";
  const repo = { type, name: params.repo };
  const client = { hubUrl: params.hubUrl, ...(params.accessToken && { accessToken: params.accessToken }), fetch: params.fetch ?? createRetryingFetch({}) };
  if (!(await repoExists({ repo, ...client }))) return { exists: false };
  const revision = params.branch ?? "main";
  const info =
    type === "model"
      ? await modelInfo({ name: params.repo, revision, additionalFields: ["sha"], ...client })
      : await datasetInfo({ name: params.repo, revision, additionalFields: ["sha"], ...client });
  const commit = String(info.sha);
  const files: Record<string, string> = {};
  for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...client })) {
    if (entry.type === "file") files[entry.path] = entry.lfs?.oid ?? entry.oid ?? "";
  }
  return { exists: true, commit, files };
}
