/**
 * Each identity's nearest other identity, by the cosine distance between their normalised
 * centroids (the mean of the members' unit embeddings). Centroids, not closest members: one
 * vector per identity keeps this O(identities) vectors, and the all-pairs search is the cluster
 * stage's own (int8 prefilter on onnxruntime, exact re-scoring), run as DBSCAN over the centroids
 * with eps = `within`: its components hold every pair within reach, and the exact nearest one is
 * then found among a component's few members. A singleton's centroid is its embedding, so the
 * same search finds the single images closest to an identity.
 */
import { dbscan } from "../cluster/index.ts";

export interface NearestClustersParams {
  /** Review rows of each identity. */
  groups: readonly (readonly number[])[];
  /** L2-normalised embeddings, `dims` per embedding row. */
  embeddings: Float32Array;
  dims: number;
  /** Embedding row of each review row. */
  embeddingRow: Int32Array;
  /** Cosine distance (in (0, 2)) within which the nearest identity is named. */
  within: number;
  /** Threads for the similarity search (this one included). */
  threads?: number;
}

export interface NearestClustersResult {
  /** Centroid distance to the nearest other identity (exact within `within`, within ~0.01 beyond); NaN with one identity. */
  distance: Float64Array;
  /** That identity (index into `groups`) when within `within`, else -1 (also in a chain of over 3000 identities within reach). */
  group: Int32Array;
}

export async function nearestClusters(params: NearestClustersParams): Promise<NearestClustersResult> {
  const { groups, embeddings, dims, embeddingRow } = params;
  const n = groups.length;
  const distance = new Float64Array(n).fill(Number.NaN);
  const group = new Int32Array(n).fill(-1);
  if (n < 2) return { distance, group };
  const centroids = new Float32Array(n * dims);
  const sum = new Float64Array(dims);
  groups.forEach((members, g) => {
    sum.fill(0);
    for (const r of members) {
      const o = embeddingRow[r]! * dims;
      for (let k = 0; k < dims; k++) sum[k]! += embeddings[o + k]!;
    }
    let norm = 0;
    for (let k = 0; k < dims; k++) norm += sum[k]! * sum[k]!;
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < dims; k++) centroids[g * dims + k] = sum[k]! / norm;
  });
  const result = await dbscan({
    embeddings: { data: centroids, rows: n, dims },
    eps: params.within,
    minSamples: 2,
    nearestNeighbors: true,
    threads: params.threads,
    source: "identity centroids",
  });
  const nearest = result.nearest!;
  for (let g = 0; g < n; g++) distance[g] = Math.max(0, 1 - nearest[g]!);
  const components = new Map<number, number[]>();
  for (let g = 0; g < n; g++) {
    const label = result.labels[g]!;
    if (label < 0) continue;
    const list = components.get(label);
    if (list) list.push(g);
    else components.set(label, [g]);
  }
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let k = 0; k < dims; k++) s += centroids[a * dims + k]! * centroids[b * dims + k]!;
    return s;
  };
  for (const members of components.values()) {
    // A chain of thousands of identities within reach is a clustering problem of its own; the
    // distances stand, only the names of the nearest are left out (m^2 work).
    if (members.length > 3000) continue;
    for (const a of members) {
      let best = -Infinity;
      for (const b of members) {
        if (a === b) continue;
        const s = dot(a, b);
        if (s > best) {
          best = s;
          group[a] = b;
        }
      }
      distance[a] = Math.max(0, 1 - best);
    }
  }
  return { distance, group };
}
