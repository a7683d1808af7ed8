/**
 * Orders identities by how likely they are wrong, so a person with an hour starts where it pays:
 *
 * - ambiguous: a near-threshold pair (cluster-stats.json) touches it: DBSCAN's answer there
 *   hangs on float rounding. Score 1.
 * - weak link: its weakest internal link (weakest-links.ts) is within 10 % of eps: one member
 *   hangs on by one neighbour. Score distance / eps.
 * - near cluster: another identity's centroid is within eps + 0.1 (nearest-clusters.ts): maybe
 *   one person split in two. Score eps / distance. For a single image, "singleton near".
 * - large: at least max(6, 2 x the median, the 99th percentile) of the multi-image sizes: a wrong
 *   merge there mislabels the most images. Score 0.85 + 0.1 x size / largest.
 *
 * Flagged identities come first, by their best score, then the others by the same scores (capped
 * below any flag), then size; ties by first row, so the order is the same on every launch.
 */
import { nearestClusters } from "./nearest-clusters.ts";
import { RISK_KINDS, type ClusterRisk, type ReviewPair } from "./review-types.ts";
import { weakestLinks } from "./weakest-links.ts";

/** A weakest link at or beyond this share of eps is flagged. */
export const WEAK_LINK_SHARE = 0.9;
/** Centroids closer than eps plus this are flagged near. */
export const NEAR_MARGIN = 0.1;

export interface RankClustersParams {
  /** Review rows of each identity (after the decisions, excluded rows left out). */
  groups: readonly (readonly number[])[];
  /** L2-normalised embeddings, `dims` per embedding row. */
  embeddings: Float32Array;
  dims: number;
  /** Embedding row of each review row. */
  embeddingRow: Int32Array;
  /** Near-threshold pairs between review rows. */
  ambiguousPairs: readonly ReviewPair[];
  /** DBSCAN's eps (cosine distance). */
  eps: number;
  /** Threads for the centroid search. */
  threads?: number;
}

export interface RankClustersResult {
  /** Risk of each identity, in `groups` order. */
  risks: ClusterRisk[];
  /** Indices into `groups`, most at risk first. */
  order: number[];
  /** Size from which an identity is "large". */
  largeFrom: number;
  /** Centroid distance below which an identity is "near" another. */
  nearWithin: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function rankClusters(params: RankClustersParams): Promise<RankClustersResult> {
  const { groups, eps } = params;
  const n = groups.length;
  const weak = weakestLinks(params);
  const nearWithin = Math.min(1.9, eps + NEAR_MARGIN);
  const near = await nearestClusters({ ...params, within: nearWithin });

  const groupOf = new Map<number, number>();
  groups.forEach((rows, g) => rows.forEach((r) => groupOf.set(r, g)));
  const ambiguous = new Int32Array(n);
  const ambiguousWith = new Int32Array(n).fill(-1);
  for (const pair of params.ambiguousPairs) {
    const a = groupOf.get(pair.a);
    const b = groupOf.get(pair.b);
    if (a !== undefined) {
      ambiguous[a]!++;
      if (b !== undefined && b !== a && ambiguousWith[a] === -1) ambiguousWith[a] = b;
    }
    if (b !== undefined && b !== a) {
      ambiguous[b]!++;
      if (a !== undefined && ambiguousWith[b] === -1) ambiguousWith[b] = a;
    }
  }

  const multi = groups.map((rows) => rows.length).filter((s) => s >= 2).sort((x, y) => x - y);
  const largest = multi.at(-1) ?? 1;
  const largeFrom = multi.length === 0 ? Number.MAX_SAFE_INTEGER : Math.max(6, 2 * percentile(multi, 0.5), percentile(multi, 0.99));

  const risks: ClusterRisk[] = groups.map((rows, g) => {
    const size = rows.length;
    const weakDistance = weak.distance[g]!;
    const nearDistance = near.distance[g]!;
    const scores: Partial<Record<keyof typeof RISK_KINDS, number>> = {};
    let kinds = 0;
    if (ambiguous[g]! > 0) {
      kinds |= RISK_KINDS.ambiguous;
      scores.ambiguous = 1;
    }
    const weakScore = Number.isNaN(weakDistance) ? 0 : Math.min(1, weakDistance / eps);
    if (weakScore >= WEAK_LINK_SHARE) {
      kinds |= RISK_KINDS.weakLink;
      scores.weakLink = weakScore;
    }
    const nearScore = Number.isNaN(nearDistance) ? 0 : nearDistance <= 0 ? 1 : Math.min(1, eps / nearDistance);
    if (!Number.isNaN(nearDistance) && nearDistance <= nearWithin) {
      const kind = size === 1 ? "singletonNear" : "nearCluster";
      kinds |= RISK_KINDS[kind];
      scores[kind] = nearScore;
    }
    if (size >= largeFrom) {
      kinds |= RISK_KINDS.large;
      scores.large = 0.85 + (0.1 * size) / largest;
    }
    const flagged = Object.values(scores);
    // Unflagged identities still get an order among themselves, always below any flagged one.
    const score = flagged.length > 0 ? Math.max(...flagged) : 0.75 * Math.max(weakScore, nearScore);
    return {
      rows: [...rows],
      kinds,
      score,
      weakestLink: Number.isNaN(weakDistance) ? null : weakDistance,
      weakestRow: weak.row[g]!,
      nearestDistance: Number.isNaN(nearDistance) ? null : nearDistance,
      nearestGroup: near.group[g]!,
      ambiguousPairs: ambiguous[g]!,
      ambiguousGroup: ambiguousWith[g]!,
    };
  });

  const firstRow = groups.map((rows) => rows.reduce((m, r) => (r < m ? r : m), Infinity));
  const order = Array.from({ length: n }, (_, g) => g).sort((x, y) => {
    const a = risks[x]!;
    const b = risks[y]!;
    return (
      Number(b.kinds !== 0) - Number(a.kinds !== 0) ||
      b.score - a.score ||
      b.rows.length - a.rows.length ||
      firstRow[x]! - firstRow[y]!
    );
  });
  return { risks, order, largeFrom, nearWithin };
}
