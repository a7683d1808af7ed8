/**
 * The cluster stage: takes `embeddings.npy` (or rows in memory) and DBSCAN's eps/min_samples/noise policy, and gives
 * labels exactly as scikit-learn's `DBSCAN(metric="cosine")` (int64 `.npy`) plus the statistics JSON the card reads.
 */
export { runCluster } from "./run-cluster.ts";
export type { RunClusterParams, RunClusterResult } from "./run-cluster.ts";
export { dbscan } from "./dbscan.ts";
export type { AmbiguousPair, DbscanParams, DbscanResult } from "./dbscan.ts";
export { NOISE_POLICIES } from "./noise-policy.ts";
export type { NoisePolicy } from "./noise-policy.ts";
export type { ClusterStats } from "./cluster-stats.ts";
