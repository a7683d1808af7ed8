/**
 * The identities stage: takes this build's release rows (image SHA-256 -> DBSCAN cluster) and the previous release's,
 * and gives stable cluster ids (max overlap, merges and splits for the changelog) and label agreement (ARI);
 * and a person's review decisions (the overrides file) applied to DBSCAN's labels, and which of them are new since
 * the previous release (the changelog's manual part).
 */
export { mapStableIds } from "./stable-ids.ts";
export type { IdentityMerge, IdentityRows, IdentitySplit, MapStableIdsParams, StableIdsResult } from "./stable-ids.ts";
export { compareReleaseLabels } from "./compare-labels.ts";
export type { CompareLabelsResult, LabelDifference } from "./compare-labels.ts";
export { applyOverrides } from "./apply-overrides.ts";
export type { ApplyOverridesParams, ApplyOverridesResult, OverrideProblem, OverrideProblemKind } from "./apply-overrides.ts";
export { emptyOverrides, OVERRIDE_ACTIONS, OVERRIDES_VERSION, parseOverrides, readOverrides, serializeOverrides, writeOverrides } from "./overrides-file.ts";
export type { OverrideAction, OverrideDecision, OverridesFile, ReadOverridesResult } from "./overrides-file.ts";
export { manualChanges } from "./manual-changes.ts";
export type { ManualAction, ManualChange, ManualChangesParams, ManualChangesResult } from "./manual-changes.ts";
