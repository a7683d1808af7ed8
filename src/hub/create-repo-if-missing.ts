/**
 * Creates a repo unless it exists: a 409 (someone, or a retried request of ours, created it
 * meanwhile) is not an error. Visibility is set only when given: otherwise the Hub applies the
 * owner's default (issue #10: biometric data follows the organisation's policy).
 */
import { createRepo, HubApiError } from "@huggingface/hub";
import type { HubRepoType } from "./repo-designation.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";

export interface CreateRepoIfMissingParams {
  /** `namespace/name`. */
  repo: string;
  /** Default "dataset". */
  repoType?: HubRepoType;
  /** Visibility of a new repo; undefined leaves it to the Hub. */
  private?: boolean;
  hubUrl: string;
  accessToken: string;
  fetch?: typeof fetch;
}

/** True when this call created the repo. */
export async function createRepoIfMissing(params: CreateRepoIfMissingParams): Promise<boolean> {
  try {
    await createRepo({
      repo: { type: params.repoType ?? "dataset", name: params.repo },
      ...(params.private !== undefined && { private: params.private }),
      hubUrl: params.hubUrl,
      accessToken: params.accessToken,
      fetch: params.fetch ?? createRetryingFetch({}),
    });
    return true;
  } catch (error) {
    if (error instanceof HubApiError && error.statusCode === 409) return false;
    throw error;
  }
}
