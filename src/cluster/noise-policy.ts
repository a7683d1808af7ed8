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
  let out: Int32Array;
  let rows: Int32Array;
  if (policy === "drop") {
    const kept: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i]! >= 0) kept.push(i);
    rows = Int32Array.from(kept);
    out = Int32Array.from(kept, (i) => labels[i]!);
  } else {
    rows = new Int32Array(labels.length);
    for (let i = 0; i < rows.length; i++) rows[i] = i;
    out = Int32Array.from(labels);
    if (policy === "singleton") {
      let next = 0;
      for (const label of labels) next = Math.max(next, label + 1);
      for (let i = 0; i < out.length; i++) if (out[i]! < 0) out[i] = next++;
    }
  }
  let maxLabel = -1;
  for (const label of out) maxLabel = Math.max(maxLabel, label);
  const sizeOf = new Int32Array(maxLabel + 1);
  for (const label of out) if (label >= 0) sizeOf[label]!++;
  const clusterSizes = Int32Array.from(out, (label) => (label >= 0 ? sizeOf[label]! : 1));
  return { labels: out, rows, clusterSizes };
}
