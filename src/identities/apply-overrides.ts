/**
 * Applies a person's review decisions (overrides-file.ts) to DBSCAN's labels, after DBSCAN and
 * before stable ids (issue #13), deterministically: decisions in file order, each a change of the
 * state the previous ones left, so "merge A and B, then move B out" means what it says.
 *
 * What cannot be applied is reported by name and never silently dropped: an image that is not in
 * this build (a new source revision removed it) and a decision that contradicts an earlier one (it
 * names an image an earlier decision excluded, or splits an image into its own group). The caller
 * decides whether that fails the run (`--strict-overrides`).
 *
 * Noise rows (label -1, `noise: keep`) are each an identity of their own here: merged, they take
 * the merged label; moved, they get the destination's. Rows without an identity at all (an image
 * without a face kept by `faces.no_face: keep`: its all-zero embedding was clustered, but the
 * release gives it a null `cluster_id`) can only be excluded; a merge, split or check naming one
 * is reported, since it could change nothing the release shows.
 */
import type { OverrideAction, OverrideDecision } from "./overrides-file.ts";

export interface ApplyOverridesParams {
  /** Identity of each row (DBSCAN's labels after the noise policy; -1 for kept noise). */
  labels: ArrayLike<bigint>;
  /** SHA-256 of each row's source image (same order as `labels`); null when unknown. */
  keys: readonly (string | null)[];
  /** File name of each row, for reports (same order). */
  fileNames?: readonly string[];
  /** 1 where the row has no identity (an image without a face, kept): it can only be excluded. */
  noIdentity?: ArrayLike<number>;
  /**
   * Images of the source that have no row here, and why (DBSCAN noise under `noise: drop`, no face,
   * unreadable): a decision naming one says so instead of "not in this build".
   */
  absent?: ReadonlyMap<string, string>;
  /** File names of the images in `absent`, for reports. */
  absentNames?: ReadonlyMap<string, string>;
  decisions: readonly OverrideDecision[];
}

export type OverrideProblemKind = "missing" | "contradiction";

export interface OverrideProblem {
  kind: OverrideProblemKind;
  /** Position of the decision in the file (0-based) and its id. */
  index: number;
  decision: string;
  action: OverrideAction;
  /** The image the problem is about (SHA-256), and its file name when the decision recorded it. */
  image: string;
  fileName?: string;
  /** Whether the decision was still applied to the rest of its images. */
  applied: boolean;
  /** One sentence, naming the decision (`decisions[index] (action id, by who)`, as parse errors number it) and the image. */
  message: string;
}

export interface ApplyOverridesResult {
  /** The reviewed labels; excluded rows keep the label they had when excluded. New identities get labels above DBSCAN's maximum. */
  labels: BigInt64Array;
  /** 1 where the row leaves the release (an `exclude`). */
  excluded: Uint8Array;
  /** 1 where the row belongs to an identity a `check` decision covers (see checkedIdentities). */
  checkedRows: Uint8Array;
  /** Identities (label >= 0, of the rows left) whose members are all among one `check` decision's images. */
  checkedIdentities: number;
  /** Decisions applied, by action (a merge of images already together counts: it holds). */
  applied: Record<OverrideAction, number>;
  /** Ids of the decisions applied, in file order. */
  appliedIds: string[];
  /** Rows excluded. */
  excludedRows: number;
  problems: OverrideProblem[];
}

export function applyOverrides(params: ApplyOverridesParams): ApplyOverridesResult {
  const n = params.labels.length;
  if (params.keys.length !== n) throw new Error(`applyOverrides: ${params.keys.length} keys for ${n} labels`);
  const labels = BigInt64Array.from({ length: n }, (_, i) => params.labels[i]!);
  const excluded = new Uint8Array(n);
  /** Image -> the decision that excluded it, named as a report names a decision (`decisions[i] (id)`). */
  const excludedBy = new Map<string, string>();
  const rowsOf = new Map<string, number[]>();
  let next = 0n;
  for (let i = 0; i < n; i++) {
    const key = params.keys[i];
    if (key) {
      const rows = rowsOf.get(key);
      if (rows) rows.push(i);
      else rowsOf.set(key, [i]);
    }
    if (labels[i]! >= next) next = labels[i]! + 1n;
  }
  const members = new Map<bigint, Set<number>>();
  for (let i = 0; i < n; i++) {
    if (labels[i]! < 0n) continue;
    let set = members.get(labels[i]!);
    if (!set) members.set(labels[i]!, (set = new Set()));
    set.add(i);
  }
  const relabel = (row: number, label: bigint) => {
    const old = labels[row]!;
    if (old === label) return;
    if (old >= 0n) members.get(old)?.delete(row);
    labels[row] = label;
    let set = members.get(label);
    if (!set) members.set(label, (set = new Set()));
    set.add(row);
  };
  /** A kept-noise row becomes an identity of its own, so it can be merged into or moved to. */
  const identityOf = (row: number): bigint => {
    if (labels[row]! < 0n) relabel(row, next++);
    return labels[row]!;
  };

  const problems: OverrideProblem[] = [];
  const applied: Record<OverrideAction, number> = { merge: 0, split: 0, exclude: 0, check: 0 };
  const appliedIds: string[] = [];
  const checks: Set<string>[] = [];

  params.decisions.forEach((decision, index) => {
    const nameOf = (image: string) => {
      const k = decision.images.indexOf(image);
      const recorded = k >= 0 && decision.files?.length === decision.images.length ? decision.files[k] : undefined;
      return recorded ?? params.fileNames?.[rowsOf.get(image)?.[0] ?? -1] ?? params.absentNames?.get(image);
    };
    // Numbered as the file's parse errors and `run --json` number it: 0-based, with the id.
    const label = `decisions[${index}] (${decision.action} ${decision.id}, by ${decision.who})`;
    const pending: Omit<OverrideProblem, "applied">[] = [];
    const report = (kind: OverrideProblemKind, image: string, why: string) => {
      const fileName = nameOf(image);
      const named = fileName ? `${fileName} (${image.slice(0, 12)})` : image.slice(0, 12);
      pending.push({ kind, index, decision: decision.id, action: decision.action, image, ...(fileName && { fileName }), message: `${label}: image ${named} ${why}` });
    };
    /** Rows of the images that are here and not excluded; reports the others. */
    const usable = (images: readonly string[]): number[] => {
      const rows: number[] = [];
      for (const image of images) {
        const found = rowsOf.get(image);
        if (!found) report("missing", image, params.absent?.get(image) ?? "is not in this build (removed from the source?)");
        else if (decision.action !== "exclude" && found.every((row) => params.noIdentity?.[row] === 1)) {
          report("missing", image, "has no detected face: it has no identity to merge, split, move into or check");
        } else if (excludedBy.has(image) && decision.action !== "exclude") report("contradiction", image, `was excluded by ${excludedBy.get(image)}`);
        else rows.push(...found);
      }
      return rows;
    };
    let done = false;
    switch (decision.action) {
      case "exclude": {
        const rows = usable(decision.images);
        for (const row of rows) excluded[row] = 1;
        for (const image of decision.images) if (rowsOf.has(image) && !excludedBy.has(image)) excludedBy.set(image, `decisions[${index}] (${decision.id})`);
        done = rows.length > 0;
        break;
      }
      case "merge": {
        const rows = usable(decision.images);
        if (new Set(rows.map((r) => params.keys[r])).size < 2 && decision.images.length >= 2 && rows.length > 0) {
          // Only one of the images is left: nothing to join it with.
          done = false;
          break;
        }
        if (rows.length === 0) break;
        const identities = [...new Set(rows.map(identityOf))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const target = identities[0]!;
        for (const id of identities.slice(1)) for (const row of [...(members.get(id) ?? [])]) relabel(row, target);
        done = true;
        break;
      }
      case "split": {
        if (decision.into !== undefined && decision.images.includes(decision.into)) {
          report("contradiction", decision.into, "is both moved and the destination");
          break;
        }
        const rows = usable(decision.images);
        let target: bigint | undefined;
        if (decision.into !== undefined) {
          const into = usable([decision.into]);
          if (into.length === 0) break;
          target = identityOf(into[0]!);
        }
        if (rows.length === 0) break;
        target ??= next++;
        for (const row of rows) relabel(row, target);
        done = true;
        break;
      }
      case "check": {
        const rows = usable(decision.images);
        checks.push(new Set(rows.map((r) => params.keys[r]!)));
        done = rows.length > 0;
        break;
      }
    }
    for (const problem of pending) problems.push({ ...problem, applied: done });
    if (done) {
      applied[decision.action]++;
      appliedIds.push(decision.id);
    }
  });

  // Checked identities: every remaining member among one check's images (a new member needs a new look).
  const checkedRows = new Uint8Array(n);
  let checkedIdentities = 0;
  // Noise rows (-1) and rows without a face are no identity of the release: never counted as checked.
  const groups: number[][] = [...members.values()]
    .map((set) => [...set].filter((r) => !excluded[r] && params.noIdentity?.[r] !== 1))
    .filter((rows) => rows.length > 0);
  for (const rows of groups) {
    const keys = rows.map((r) => params.keys[r]);
    if (checks.some((check) => keys.every((k) => typeof k === "string" && check.has(k)))) {
      checkedIdentities++;
      for (const r of rows) checkedRows[r] = 1;
    }
  }
  let excludedRows = 0;
  for (let i = 0; i < n; i++) excludedRows += excluded[i]!;
  return { labels, excluded, checkedRows, checkedIdentities, applied, appliedIds, excludedRows, problems };
}
