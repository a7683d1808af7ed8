/**
 * The embed stage: takes an `EmbedPlan` (an image source in source order, detector and recognizer specs, output paths)
 * and gives `embeddings.npy` (float32 [n, d], L2-normalised) + `embeddings-index.parquet` (one entry per source row).
 */
export { runEmbed, cropFileName } from "./run-embed.ts";
export type { EmbedEngine, EmbedSummary, RunEmbedParams } from "./run-embed.ts";
export { adHocCacheRoot, fingerprintOf, openLocalSource, sha256OfModelFile } from "./embed-plan.ts";
export type { EmbedPlan } from "./embed-plan.ts";
export { EmbedCache, embedFingerprint } from "./embed-cache.ts";
export type { EmbedFingerprintParams, EmbedRecord } from "./embed-cache.ts";
export type { EmbedRow, EmbedStatus } from "./embed-outputs.ts";
export { parseShardSpec, partialIdentityOf, prepareEmbedShard, sourceKeyOf } from "./embed-shard.ts";
export type { EmbedShardRun, ShardSpec } from "./embed-shard.ts";
export { expandPartialArgs, findPartialDirs, mergeEmbedPartials } from "./merge-partials.ts";
export type { MergeEmbedPartialsParams, MergeSummary } from "./merge-partials.ts";
