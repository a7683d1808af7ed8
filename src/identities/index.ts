/**
 * The identities stage: takes this build's release rows (image SHA-256 -> DBSCAN cluster) and the previous release's,
 * and gives stable cluster ids (max overlap, merges and splits for the changelog) and label agreement (ARI).
 */
export { mapStableIds } from "./stable-ids.ts";
export type { IdentityMerge, IdentityRows, IdentitySplit, MapStableIdsParams, StableIdsResult } from "./stable-ids.ts";
export { compareReleaseLabels } from "./compare-labels.ts";
export type { CompareLabelsResult, LabelDifference } from "./compare-labels.ts";
