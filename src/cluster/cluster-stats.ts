/**
 * The identity statistics of a clustering, as written to `--stats-out` and shown by the card:
 * counts, size distribution and the nearest-neighbour analysis.
 */
import type { AmbiguousPair, DbscanResult } from "./dbscan.ts";
import type { NearestNeighborHistogram } from "./nearest-neighbor-histogram.ts";
import type { NoisePolicy, NoisePolicyResult } from "./noise-policy.ts";

export interface ClusterStatsParams {
  dbscan: DbscanResult;
  final: NoisePolicyResult;
  policy: NoisePolicy;
  eps: number;
  minSamples: number;
  /** The nearest-neighbour histogram, when it was computed. */
  histogram?: NearestNeighborHistogram;
}

export interface ClusterStats {
  /** Rows in the output (input rows less dropped noise). */
  rows: number;
  input_rows: number;
  /** Distinct identity labels in the output (noise kept as -1 is not an identity). */
  identities: number;
  /** DBSCAN clusters before the noise policy, and its noise rows. */
  clusters: number;
  noise_rows: number;
  multi_image_clusters: number;
  singletons: number;
  largest_cluster: number;
  /** Identity size -> number of identities of that size. */
  size_distribution: Record<string, number>;
  eps: number;
  min_samples: number;
  noise_policy: NoisePolicy;
  dtype: string;
  /** Least cosine similarity that makes two rows neighbours, in the input precision. */
  similarity_threshold: number;
  nearest_neighbor: {
    /** Share of input rows whose nearest other row is within eps (= non-noise share for min_samples 2). */
    share_within_eps: number;
    non_noise_share: number;
    histogram?: { bin_width: number; start: number; counts: number[]; rows: number };
    exact_duplicates?: number;
    modes?: number[];
    valley?: number | null;
    otsu_threshold?: number | null;
    suggested_eps?: number | null;
    /** Similarities at or above this are exact; below it they carry at most `max_error`. */
    exact_from?: number;
    max_error?: number;
  };
  /** Near-threshold pairs decided by rounding that join two components (see dbscan.ts). */
  ambiguous_pairs: AmbiguousPair[];
}

export function computeClusterStats(params: ClusterStatsParams): ClusterStats {
  const { dbscan, final, histogram } = params;
  const inputRows = dbscan.labels.length;
  // Typed-array counting, not Maps: this runs once, unoptimised, over ~28k rows and ~15k labels.
  let maxLabel = -1;
  for (let i = 0; i < final.labels.length; i++) if (final.labels[i]! > maxLabel) maxLabel = final.labels[i]!;
  const sizeOf = new Int32Array(maxLabel + 1);
  for (let i = 0; i < final.labels.length; i++) if (final.labels[i]! >= 0) sizeOf[final.labels[i]!]!++;
  let largest = 0;
  let identities = 0;
  let singletons = 0;
  const distribution = new Map<number, number>();
  for (let label = 0; label <= maxLabel; label++) {
    const size = sizeOf[label]!;
    if (size === 0) continue;
    identities++;
    if (size === 1) singletons++;
    if (size > largest) largest = size;
    distribution.set(size, (distribution.get(size) ?? 0) + 1);
  }
  let noise = 0;
  for (let i = 0; i < inputRows; i++) if (dbscan.labels[i]! < 0) noise++;
  const nearest: ClusterStats["nearest_neighbor"] = {
    share_within_eps: round(dbscan.rowsWithNeighbor / inputRows),
    non_noise_share: round((inputRows - noise) / inputRows),
  };
  if (histogram) {
    nearest.histogram = {
      bin_width: histogram.binWidth,
      start: histogram.start,
      counts: histogram.counts,
      rows: histogram.rows,
    };
    nearest.exact_duplicates = histogram.exactDuplicates;
    nearest.modes = histogram.modes;
    nearest.valley = histogram.valley;
    nearest.otsu_threshold = histogram.otsuThreshold;
    nearest.suggested_eps = histogram.suggestedEps;
    nearest.exact_from = dbscan.threshold;
    nearest.max_error = dbscan.nearestMargin;
  }
  return {
    rows: final.labels.length,
    input_rows: inputRows,
    identities,
    clusters: dbscan.clusters,
    noise_rows: noise,
    multi_image_clusters: identities - singletons,
    singletons,
    largest_cluster: largest,
    size_distribution: Object.fromEntries([...distribution.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
    eps: params.eps,
    min_samples: params.minSamples,
    noise_policy: params.policy,
    dtype: dbscan.dtype,
    similarity_threshold: dbscan.threshold,
    nearest_neighbor: nearest,
    ambiguous_pairs: dbscan.ambiguousPairs,
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
