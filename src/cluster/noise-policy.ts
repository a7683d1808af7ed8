/**
 * What becomes of DBSCAN's noise rows (label -1) in a release
 * (../shared/docs/reference-pipeline.md, "Noise policy of the release").
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
}

export interface NoisePolicyResult {
  /** Final label per kept row. */
  labels: Int32Array;
  /** Source row index of each kept row (the identity for all policies but `drop`). */
  rows: Int32Array;
  /** Rows sharing the row's label; 1 for singletons and for `keep`'s noise rows (alone, not a group). */
  clusterSizes: Int32Array;
}

export function applyNoisePolicy(params: NoisePolicyParams): NoisePolicyResult {
  const { labels, policy } = params;
  if (!NOISE_POLICIES.includes(policy)) {
    throw new UsageError(`noise policy must be one of ${NOISE_POLICIES.join(", ")}, got "${policy}"`);
  }
  // Indexed loops over typed arrays only: this runs once per release on ~28k rows, before V8 has
  // optimised anything, where for-of and per-element callbacks cost ~10 ms.
  const n = labels.length;
  let maxLabel = -1;
  let noise = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (label > maxLabel) maxLabel = label;
    else if (label < 0) noise++;
  }
  const kept = policy === "drop" ? n - noise : n;
  const out = new Int32Array(kept);
  const rows = new Int32Array(kept);
  let next = maxLabel + 1;
  for (let i = 0, k = 0; i < n; i++) {
    const label = labels[i]!;
    if (label < 0 && policy === "drop") continue;
    rows[k] = i;
    out[k++] = label < 0 && policy === "singleton" ? next++ : label;
  }
  const sizeOf = new Int32Array(next);
  for (let k = 0; k < kept; k++) if (out[k]! >= 0) sizeOf[out[k]!]!++;
  const clusterSizes = new Int32Array(kept);
  for (let k = 0; k < kept; k++) clusterSizes[k] = out[k]! >= 0 ? sizeOf[out[k]!]! : 1;
  return { labels: out, rows, clusterSizes };
}
