/**
 * Sets a repo's gated access and visibility: what biometric data needs (access requests, or a
 * private repo). The client has no function for it; the route is the one huggingface_hub's
 * `update_repo_settings` calls: `PUT /api/{type}s/{ns}/{name}/settings` with JSON
 * `{gated?: "auto" | "manual" | false, private?: boolean}`, only the given keys.
 */
import { UsageError } from "../common/errors.ts";
import { registerSecret } from "../common/logger.ts";
import { toHubFailure } from "./hub-failure.ts";
import { parseHubRepo } from "./repo-designation.ts";
import type { HubRepoType } from "./repo-designation.ts";
import { hubApiErrorOf } from "./hub-api-error-of.ts";

/** Gated access: off, or on with requests approved automatically or by hand. */
export type GatedAccess = false | "auto" | "manual";

export interface UpdateRepoSettingsParams {
  /** `namespace/name`. */
  repo: string;
  /** Default "dataset". */
  repoType?: HubRepoType;
  /** New gated-access setting; left as it is when undefined. */
  gated?: GatedAccess;
  /** New visibility; left as it is when undefined. */
  private?: boolean;
  hubUrl: string;
  /** Needs write access to the repo. */
  accessToken: string;
  /** Use a retrying fetch (see `createRetryingFetch`): the PUT is idempotent, so retries are safe. */
  fetch?: typeof fetch;
}

/**
 * Sends the settings that are given. Throws a UsageError when none is given or `gated` is not one
 * of false/"auto"/"manual" (a config value the type did not catch), before any request; Hub
 * refusals come back as UsageError (401/403/404: token, rights or repo to fix) or RuntimeError.
 */
export async function updateRepoSettings(params: UpdateRepoSettingsParams): Promise<void> {
  const repo = parseHubRepo(params.repo, params.repoType ?? "dataset");
  registerSecret(params.accessToken);
  if (params.gated !== undefined && params.gated !== false && params.gated !== "auto" && params.gated !== "manual") {
    throw new UsageError(`gated must be false, "auto" or "manual", got ${JSON.stringify(params.gated)}`);
  }
  if (params.private !== undefined && typeof params.private !== "boolean") {
    throw new UsageError(`private must be true or false, got ${JSON.stringify(params.private)}`);
  }
  if (params.gated === undefined && params.private === undefined) {
    // As huggingface_hub does: an empty PUT is a caller's mistake, not a no-op to send.
    throw new UsageError(`settings ${repo.name}: nothing to update (give gated and/or private)`);
  }
  const body = {
    ...(params.gated !== undefined && { gated: params.gated }),
    ...(params.private !== undefined && { private: params.private }),
  };
  const fetchImpl = params.fetch ?? fetch;
  const context = `settings ${repo.name}`;
  let response: Response;
  try {
    response = await fetchImpl(`${params.hubUrl}/api/${repo.type}s/${repo.name}/settings`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${params.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw toHubFailure(error, context);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  throw toHubFailure(await hubApiErrorOf(response), context);
}
