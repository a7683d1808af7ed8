/**
 * What a row's `cluster_id` and `cluster_size` are, by kind of row, and the counts the card shows
 * ("N images: I in M identities, K noise images (-1), F images without a detected face"):
 *
 * | row | `cluster_id` | `cluster_size` |
 * |---|---|---|
 * | a face in an identity | id >= 0 | rows sharing the id |
 * | DBSCAN noise kept by `clustering.noise: keep` | -1 | 1 (the image is alone: a group of one, not a group of all noise) |
 * | no face detected, kept by `faces.no_face: keep` | null | null (never clustered: no embedding, no identity) |
 *
 * `noise: singleton` gives each noise row its own id (size 1); `noise: drop` and `no_face: drop`
 * leave those rows out. Rows that could not be read or decoded are never in a release.
 */
import type { ReleaseLabelCounts } from "./release-data-info.ts";

/** `cluster_id` of DBSCAN noise kept by `noise: keep`. */
export const NOISE_CLUSTER_ID = -1;
/** `cluster_size` of a noise row: the image is alone. */
export const NOISE_CLUSTER_SIZE = 1;

/** Counts of a split's rows from their `cluster_id`s (null: no face); ids below -1 are not counted. */
export function countLabels(ids: Iterable<number | bigint | null>): ReleaseLabelCounts {
  const sizeOf = new Map<string, number>();
  let noiseRows = 0;
  let noFaceRows = 0;
  let identityRows = 0;
  for (const id of ids) {
    if (id === null) noFaceRows++;
    else if (Number(id) === NOISE_CLUSTER_ID) noiseRows++;
    else if (Number(id) >= 0) {
      identityRows++;
      const key = String(id);
      sizeOf.set(key, (sizeOf.get(key) ?? 0) + 1);
    }
  }
  const distribution = new Map<number, number>();
  for (const size of sizeOf.values()) distribution.set(size, (distribution.get(size) ?? 0) + 1);
  return {
    identities: sizeOf.size,
    identityRows,
    noiseRows,
    noFaceRows,
    sizeDistribution: Object.fromEntries([...distribution.entries()].sort((a, b) => a[0] - b[0]).map(([size, count]) => [String(size), count])),
  };
}
