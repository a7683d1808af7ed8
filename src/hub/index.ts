/** The Hub stage: settings, pulling snapshots into the Hub cache, pushing folders as one commit. */
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
