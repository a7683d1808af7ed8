/**
 * Each identity's weakest internal link: over its members, the least of "cosine similarity to the
 * nearest other member". DBSCAN (min_samples 2) chains members through neighbours within eps, so
 * a weakest link near eps means one member hangs on by a thread: the first image to look at.
 */

export interface WeakestLinksParams {
  /** Review rows of each identity. */
  groups: readonly (readonly number[])[];
  /** L2-normalised embeddings, `dims` per embedding row. */
  embeddings: Float32Array;
  dims: number;
  /** Embedding row of each review row. */
  embeddingRow: Int32Array;
  /** Identities larger than this are skipped (the work is size^2; they are flagged large anyway). Default 3000. */
  maxSize?: number;
}

export interface WeakestLinksResult {
  /** Cosine distance (1 - similarity) of each identity's weakest link; NaN for one image or too large. */
  distance: Float64Array;
  /** The loosest member (review row) of each identity, or -1. */
  row: Int32Array;
}

export function weakestLinks(params: WeakestLinksParams): WeakestLinksResult {
  const { groups, embeddings, dims, embeddingRow } = params;
  const maxSize = params.maxSize ?? 3000;
  const distance = new Float64Array(groups.length).fill(Number.NaN);
  const row = new Int32Array(groups.length).fill(-1);
  let block = new Float32Array(0);
  let best = new Float64Array(0);
  groups.forEach((members, g) => {
    const m = members.length;
    if (m < 2 || m > maxSize) return;
    // Members side by side: the pairs below then read memory in order.
    if (block.length < m * dims) block = new Float32Array(m * dims);
    if (best.length < m) best = new Float64Array(m);
    for (let a = 0; a < m; a++) block.set(embeddings.subarray(embeddingRow[members[a]!]! * dims, (embeddingRow[members[a]!]! + 1) * dims), a * dims);
    best.fill(-Infinity, 0, m);
    for (let a = 0; a < m; a++) {
      const oa = a * dims;
      for (let b = a + 1; b < m; b++) {
        const ob = b * dims;
        let dot = 0;
        for (let k = 0; k < dims; k++) dot += block[oa + k]! * block[ob + k]!;
        if (dot > best[a]!) best[a] = dot;
        if (dot > best[b]!) best[b] = dot;
      }
    }
    let weakest = 0;
    for (let a = 1; a < m; a++) if (best[a]! < best[weakest]!) weakest = a;
    distance[g] = Math.max(0, 1 - best[weakest]!);
    row[g] = members[weakest]!;
  });
  return { distance, row };
}
