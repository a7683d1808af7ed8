/**
 * Repo names as the user types them (`ns/name`) and as the Hub client and the cache need them.
 */
import { UsageError } from "../common/errors.ts";

export type HubRepoType = "dataset" | "model";

export interface HubRepo {
  type: HubRepoType;
  /** `namespace/name`. */
  name: string;
}

// Hub rules: letters, digits, `-`, `_`, `.`; no leading/trailing `-`/`.`, no `--` or `..`.
const PART = /^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9._-]{1,96}(?<![-.])$/;

/** Parses `ns/name`; throws a UsageError naming `flag` when it is not a full Hub repo id. */
export function parseHubRepo(name: string, type: HubRepoType = "dataset", flag = "--repo"): HubRepo {
  const parts = name.split("/");
  if (parts.length !== 2 || !parts.every((part) => PART.test(part))) {
    throw new UsageError(`${flag}: "${name}" is not a Hub repo id of the form namespace/name`);
  }
  return { type, name };
}

/** The repo's folder in the Hub cache: `datasets--ns--name` (same as the Python client). */
export function cacheFolderName(repo: HubRepo): string {
  return `${repo.type}s--${repo.name.split("/").join("--")}`;
}

/** Path prefix of the repo on the Hub's web routes (models have none). */
export function webRoutePrefix(repo: HubRepo): string {
  return repo.type === "model" ? repo.name : `${repo.type}s/${repo.name}`;
}
