/**
 * The release stage: takes source rows, the embed index and cluster labels, and gives Parquet shards that `datasets`
 * reads as if `push_to_hub` wrote them; also reads releases back (`verify`, release rows, contact sheets).
 */
export { exportRelease } from "./export-release.ts";
export type { ExportReleaseParams, ExportReleaseResult, ReleaseProblem } from "./export-release.ts";
export { inferredPassThroughColumns, parquetPassThroughColumns } from "./pass-through-columns.ts";
export type { ReleaseColumn } from "./release-schema.ts";
export type { HfFeature, ReleaseDataInfo, ReleaseLabelCounts, ReleaseShard } from "./release-data-info.ts";
export { countLabels, NOISE_CLUSTER_ID, NOISE_CLUSTER_SIZE } from "./label-counts.ts";
export { readEmbedIndex } from "./read-embed-index.ts";
export type { EmbedIndexEntry } from "./read-embed-index.ts";
export { readReleaseRows, releaseShardFiles } from "./read-release-rows.ts";
export type { ReleaseRows } from "./read-release-rows.ts";
export { verifyRelease } from "./verify-release.ts";
export { openDuckDb, sqlString } from "./open-duckdb.ts";
export type { DuckDb, DuckDbRow } from "./open-duckdb.ts";
export type { VerifyReleaseParams, VerifyReleaseResult } from "./verify-release.ts";
export { absolutePathIn, buildMachinePaths } from "./check-local-paths.ts";
export { chooseClusters, writeContactSheets } from "./contact-sheets.ts";
export { shardPath } from "./plan-shards.ts";
