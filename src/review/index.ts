/**
 * The review stage (issue #13): takes the work dir's last build (embeddings, embed index, DBSCAN's
 * labels, cluster statistics), the source images and the decisions file (`clustering.overrides`),
 * and gives a page to check and correct the identities: ranked by risk, thumbnails cached in the
 * work dir, served on 127.0.0.1 with a per-launch token (decisions written back to the file, a
 * stale write refused) or written as a self-contained static copy.
 */
export { loadReviewBuild } from "./load-review-build.ts";
export type { LoadReviewBuildParams } from "./load-review-build.ts";
export { buildReviewData } from "./build-review-data.ts";
export type { BuildReviewDataParams } from "./build-review-data.ts";
export { rankClusters, NEAR_MARGIN, WEAK_LINK_SHARE } from "./rank-clusters.ts";
export type { RankClustersParams, RankClustersResult } from "./rank-clusters.ts";
export { buildThumbnailCache } from "./thumbnail-cache.ts";
export type { BuildThumbnailCacheParams, ThumbnailCache, ThumbnailWanted } from "./thumbnail-cache.ts";
export { makeThumbnail } from "./make-thumbnail.ts";
export { checkSubmittedDecisions } from "./check-submitted-decisions.ts";
export { serveReview } from "./serve-review.ts";
export type { ReviewServer, ServeReviewParams } from "./serve-review.ts";
export { writeStaticReview, STATIC_MARKER } from "./write-static-review.ts";
export type { WriteStaticReviewParams, WriteStaticReviewResult } from "./write-static-review.ts";
export { defaultOverridesPath } from "./default-overrides-path.ts";
export type { OverridesLocation } from "./default-overrides-path.ts";
export { RISK_KINDS } from "./review-types.ts";
export type { ClusterRisk, ReviewBuild, ReviewData, ReviewPair, RiskKind } from "./review-types.ts";
