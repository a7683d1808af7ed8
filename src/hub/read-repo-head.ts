/**
 * A repo's branch head and every file at it, read in two calls (info + recursive tree), or
 * "missing" when the repo does not exist (or is not visible with this token).
 */
import { datasetInfo, listFiles, modelInfo, repoExists, type ListFileEntry } from "@huggingface/hub";
import { RuntimeError } from "../common/errors.ts";
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
      /** Every file at the head, as the Hub lists it (`lfs.oid` is the SHA-256 of an LFS file, `oid` a git blob SHA-1). */
      files: Map<string, ListFileEntry>;
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
  if (typeof info.sha !== "string") throw new RuntimeError(`the Hub gave no head commit for ${params.repo}@${revision}`);
  const files = new Map<string, ListFileEntry>();
  for await (const entry of listFiles({ repo, revision: info.sha, recursive: true, ...client })) {
    if (entry.type === "file") files.set(entry.path, entry);
  }
  return { exists: true, commit: info.sha, files };
}

/** What a listing says a file's content is: SHA-256 for LFS files, git blob SHA-1 for others. */
export function listedHash(entry: ListFileEntry): string {
  return entry.lfs?.oid ?? entry.oid ?? "";
}
