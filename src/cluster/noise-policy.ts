/**
 * What becomes of DBSCAN's noise rows (label -1) in a release
 * (../shared/docs/reference-pipeline.md, "Noise policy of the release"; what the release writes for
 * each kind of row: src/release/label-counts.ts).
 *
 * Rows without an embedding (the all-zero rows the embed stage writes under `faces.no_face: keep`
 * for images without a face) are not DBSCAN's to judge: given `withoutEmbedding`, they are never
 * numbered as singletons nor dropped as noise, and not counted as noise; their label stays -1 and
 * their size 0 (no identity), and the release gives them a null `cluster_id`.
 */
import { UsageError } from "../common/errors.ts";

export type NoisePolicy = "singleton" | "keep" | "drop";

export const NOISE_POLICIES: readonly NoisePolicy[] = ["singleton", "keep", "drop"];

export interface NoisePolicyParams {
  /** DBSCAN labels, -1 for noise. */
  labels: Int32Array;
  /**
   * `singleton`: each noise row becomes its own identity, numbered from max(label) + 1 upwards in
   * row order (the published release); `keep`: noise stays -1; `drop`: noise rows are removed.
   */
  policy: NoisePolicy;
  /**
   * 1 for a row that had no embedding (an all-zero row: no face, kept by `faces.no_face: keep`),
   * which DBSCAN labels noise although it is no face at all. Default: every row had one.
   */
  withoutEmbedding?: ArrayLike<number>;
}

export interface NoisePolicyResult {
  /** Final label per kept row. */
  labels: Int32Array;
  /** Source row index of each kept row (the identity for all policies but `drop`). */
  rows: Int32Array;
  /**
   * Rows sharing the row's label; 1 for singletons and for `keep`'s noise rows (each alone, not one
   * group of all noise: the release's `cluster_size` of a -1 row); 0 for a row without an embedding.
   */
  clusterSizes: Int32Array;
  /** DBSCAN noise among the rows with an embedding (before the policy). */
  noiseRows: number;
  /** Rows flagged in `withoutEmbedding`. */
  withoutEmbeddingRows: number;
}

export function applyNoisePolicy(params: NoisePolicyParams): NoisePolicyResult {
  const { labels, policy } = params;
  if (!NOISE_POLICIES.includes(policy)) {
    throw new UsageError(`noise policy must be one of ${NOISE_POLICIES.join(", ")}, got "${policy}"`);
  }
  // Indexed loops over typed arrays only: this runs once per release on ~28k rows, before V8 has
  // optimised anything, where for-of and per-element callbacks cost ~10 ms.
  const n = labels.length;
  const without = params.withoutEmbedding;
  if (without && without.length !== n) throw new UsageError(`withoutEmbedding has ${without.length} rows for ${n} labels`);
  let maxLabel = -1;
  let noise = 0;
  let withoutRows = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (without && without[i]) {
      withoutRows++;
      if (label >= 0) throw new UsageError(`row ${i} has no embedding but DBSCAN put it in cluster ${label} (eps >= 1?)`);
    } else if (label > maxLabel) maxLabel = label;
    else if (label < 0) noise++;
  }
  const kept = policy === "drop" ? n - noise : n;
  const out = new Int32Array(kept);
  const rows = new Int32Array(kept);
  const noEmbedding = new Uint8Array(kept);
  let next = maxLabel + 1;
  for (let i = 0, k = 0; i < n; i++) {
    const label = labels[i]!;
    const isWithout = without !== undefined && without[i] !== 0;
    if (label < 0 && policy === "drop" && !isWithout) continue;
    rows[k] = i;
    noEmbedding[k] = isWithout ? 1 : 0;
    out[k++] = label < 0 && policy === "singleton" && !isWithout ? next++ : label;
  }
  const sizeOf = new Int32Array(next);
  for (let k = 0; k < kept; k++) if (out[k]! >= 0) sizeOf[out[k]!]!++;
  const clusterSizes = new Int32Array(kept);
  for (let k = 0; k < kept; k++) clusterSizes[k] = noEmbedding[k] ? 0 : out[k]! >= 0 ? sizeOf[out[k]!]! : 1;
  return { labels: out, rows, clusterSizes, noiseRows: noise, withoutEmbeddingRows: withoutRows };
}
