/**
 * Tags a revision. The client has no function for it; the route is
 * `POST /api/{type}s/{ns}/{name}/tag/{rev}` with JSON `{tag, message?}` (shared/docs/hub-protocol.md,
 * "Write calls": duplicate -> 409, unknown revision -> 404).
 */
import type { HubRepo } from "./repo-designation.ts";
import { hubApiErrorOf } from "./hub-api-error-of.ts";

export interface CreateTagParams {
  repo: HubRepo;
  tag: string;
  /** Commit SHA (or branch) the tag points to. */
  revision: string;
  /** Annotation; optional. */
  message?: string;
  hubUrl: string;
  accessToken: string;
  /** Use a retrying fetch (see `createRetryingFetch`). */
  fetch?: typeof fetch;
}

/**
 * Creates the tag. A 409 whose existing tag already points at `revision` counts as success: it
 * is what a retried request sees when the first one landed.
 */
export async function createTag(params: CreateTagParams): Promise<void> {
  const fetchImpl = params.fetch ?? fetch;
  const api = `${params.hubUrl}/api/${params.repo.type}s/${params.repo.name}`;
  const auth = { Authorization: `Bearer ${params.accessToken}` };
  const response = await fetchImpl(`${api}/tag/${encodeURIComponent(params.revision)}`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ tag: params.tag, ...(params.message && { message: params.message }) }),
  });
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  if (response.status === 409) {
    const refs = await fetchImpl(`${api}/refs`, { headers: auth });
    if (refs.ok) {
      const body = (await refs.json()) as { tags?: { name: string; targetCommit: string }[] };
      if (body.tags?.some((tag) => tag.name === params.tag && tag.targetCommit === params.revision)) return;
    }
  }
  throw await hubApiErrorOf(response);
}
