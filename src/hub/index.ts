/**
 * The Hub stage: takes repo ids, revisions and folders, and gives pulled snapshots in the Python-compatible cache and
 * commits (one per push, parent-guarded); settings (endpoint, token, cache, offline, timeouts) are resolved here.
 */
export { resolveHubSettings, DEFAULT_HUB_URL } from "./hub-settings.ts";
export type { HubSettings, ResolveHubSettingsParams } from "./hub-settings.ts";
export { pullSnapshot } from "./pull-snapshot.ts";
export type { PullSnapshotParams, PullSnapshotResult } from "./pull-snapshot.ts";
export { pushFolder } from "./push-folder.ts";
export type { PushFolderParams, PushFolderResult } from "./push-folder.ts";
export { createTag } from "./create-tag.ts";
export { createRetryingFetch } from "./retrying-fetch.ts";
export { withRetries, DEFAULT_RETRY_POLICY } from "./with-retries.ts";
export type { RetryPolicy } from "./with-retries.ts";
export { parseHubRepo, cacheFolderName } from "./repo-designation.ts";
export type { HubRepo, HubRepoType } from "./repo-designation.ts";
export { listLocalFiles } from "./push-folder.ts";
export { updateRepoSettings } from "./update-repo-settings.ts";
export type { GatedAccess, UpdateRepoSettingsParams } from "./update-repo-settings.ts";
export { listedHash, readRepoHead } from "./read-repo-head.ts";
export { isHubUnreachable } from "./is-hub-unreachable.ts";
export { NetworkFailure } from "./network-failure.ts";
export { HubOfflineError } from "./hub-offline-error.ts";
export { resolveNetworkSettings } from "./hub-network-settings.ts";
export type { HubNetworkSettings } from "./hub-network-settings.ts";
export type { ReadRepoHeadParams, RepoHead } from "./read-repo-head.ts";
export { checkToken } from "./check-token.ts";
export { createRepoIfMissing } from "./create-repo-if-missing.ts";
