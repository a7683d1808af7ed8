/**
 * Stable identity ids across releases (issue 6, "Stable identity ids across versions"): the new
 * clusters are mapped onto the previous release's `cluster_id`s by overlap of rows, rows being
 * matched by the SHA-256 of their published image bytes, so an identity whose images did not change
 * keeps its id and a new identity gets a fresh id above the previous maximum.
 *
 * Assignment is greedy: every (new cluster, old id) pair that shares rows is a candidate; candidates
 * are taken by overlap descending, ties by the smaller old id, then the smaller new cluster; a pair
 * is taken when neither side was taken yet. Greedy is not the optimum of the assignment problem,
 * but it is deterministic, O(pairs log pairs), and equals the optimum whenever every cluster has a
 * majority partner, which is the case that matters (unchanged or grown identities).
 */

/** One release's rows: the image key and the identity of each row. */
export interface IdentityRows {
  /** SHA-256 (hex) of each row's image bytes. */
  keys: readonly string[];
  /** `cluster_id` of each row; null for a row without identity (kept noise, no face). */
  ids: readonly (bigint | null)[];
}

/** A new identity that holds rows of several previous ones. */
export interface IdentityMerge {
  /** Id the merged identity carries now. */
  id: bigint;
  /** Previous ids whose rows it holds, ascending. */
  from: bigint[];
}

/** A previous identity whose rows went to several new ones. */
export interface IdentitySplit {
  /** The previous id. */
  id: bigint;
  /** Ids now holding its rows, ascending. */
  into: bigint[];
}

export interface StableIdsResult {
  /** New cluster label -> published id. Every label of `current` has an entry. */
  mapping: Map<bigint, bigint>;
  /** Identities that kept a previous id. */
  kept: number;
  /** Identities that got a fresh id. */
  fresh: number;
  /** Previous ids no row carries any more. */
  retired: number;
  merges: IdentityMerge[];
  splits: IdentitySplit[];
}

export interface MapStableIdsParams {
  /** The previous release as published. */
  previous: IdentityRows;
  /** This run's rows with the clustering's own labels (sklearn order). */
  current: IdentityRows;
}

const byBigint = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

export function mapStableIds(params: MapStableIdsParams): StableIdsResult {
  const { previous, current } = params;
  if (previous.keys.length !== previous.ids.length || current.keys.length !== current.ids.length) {
    throw new Error("mapStableIds: keys and ids must have one entry per row");
  }
  // An image present several times in the previous release votes for each id it carried.
  const previousIdsOfKey = new Map<string, bigint[]>();
  let previousMax = -1n;
  const previousIds = new Set<bigint>();
  previous.keys.forEach((key, i) => {
    const id = previous.ids[i];
    if (id === null || id === undefined) return;
    previousIds.add(id);
    if (id > previousMax) previousMax = id;
    const list = previousIdsOfKey.get(key);
    if (list) list.push(id);
    else previousIdsOfKey.set(key, [id]);
  });

  const labels = new Set<bigint>();
  // overlap.get(label).get(oldId) = rows shared
  const overlap = new Map<bigint, Map<bigint, number>>();
  current.keys.forEach((key, i) => {
    const label = current.ids[i];
    if (label === null || label === undefined) return;
    labels.add(label);
    for (const oldId of previousIdsOfKey.get(key) ?? []) {
      let row = overlap.get(label);
      if (!row) overlap.set(label, (row = new Map()));
      row.set(oldId, (row.get(oldId) ?? 0) + 1);
    }
  });

  const candidates: { label: bigint; oldId: bigint; rows: number }[] = [];
  for (const [label, row] of overlap) for (const [oldId, rows] of row) candidates.push({ label, oldId, rows });
  candidates.sort((a, b) => b.rows - a.rows || byBigint(a.oldId, b.oldId) || byBigint(a.label, b.label));

  const mapping = new Map<bigint, bigint>();
  const takenOld = new Set<bigint>();
  for (const c of candidates) {
    if (mapping.has(c.label) || takenOld.has(c.oldId)) continue;
    mapping.set(c.label, c.oldId);
    takenOld.add(c.oldId);
  }
  const kept = mapping.size;
  // Fresh ids in the order of the clustering's own labels, so they are deterministic too.
  let next = previousMax + 1n;
  for (const label of [...labels].sort(byBigint)) if (!mapping.has(label)) mapping.set(label, next++);

  const merges: IdentityMerge[] = [];
  const newIdsOfOld = new Map<bigint, Set<bigint>>();
  for (const [label, row] of overlap) {
    const id = mapping.get(label)!;
    if (row.size > 1) merges.push({ id, from: [...row.keys()].sort(byBigint) });
    for (const oldId of row.keys()) {
      let set = newIdsOfOld.get(oldId);
      if (!set) newIdsOfOld.set(oldId, (set = new Set()));
      set.add(id);
    }
  }
  const splits: IdentitySplit[] = [];
  for (const [oldId, ids] of newIdsOfOld) if (ids.size > 1) splits.push({ id: oldId, into: [...ids].sort(byBigint) });
  merges.sort((a, b) => byBigint(a.id, b.id));
  splits.sort((a, b) => byBigint(a.id, b.id));
  const carried = new Set(mapping.values());
  const retired = [...previousIds].filter((id) => !carried.has(id)).length;
  return { mapping, kept, fresh: labels.size - kept, retired, merges, splits };
}
