/**
 * The changelog's manual part (issue #13): which review decisions are new since the previous
 * release, what each did to the published ids, and which of stable ids' merges and splits they
 * explain, so the card tells "a person merged these" from "the clustering now joins these".
 *
 * A decision applied in the previous release too changed nothing between the two releases (both
 * carry its effect), so only decisions applied now and not then are listed. A stable-ids merge
 * (a current identity holding rows of several previous ones) is manual when the new decisions
 * alone connect all its previous ids: a merge connects the previous ids of its images, a move
 * those of the moved images and of its `into` image. A split (a previous identity's rows in
 * several current ones) is manual when, leaving out the identities new decisions moved its
 * images to, one identity at most is left.
 *
 * A decision the previous release applied and this one does not is withdrawn (undone in the review,
 * or no longer applicable): it is listed by id, and what undoing it did is told apart from the
 * clustering too (`undoneMerges`, `undoneSplits`) when the file still holds it, which names its
 * images: a withdrawn merge splits the previous identity its images shared (a split is undone when,
 * leaving out the identities its images are in now, one at most is left), a withdrawn split or move
 * brings its images back (a merge is undone when, leaving out the previous ids its images had, one
 * at most is left; the identity a move had taken them into splits, as for a merge). A decision dropped from the file names no image any more: only listed.
 */
import type { IdentityMerge, IdentitySplit } from "./stable-ids.ts";
import type { OverrideDecision } from "./overrides-file.ts";

/** `split` with `into` is a move: the card counts them apart. */
export type ManualAction = "merge" | "split" | "move" | "exclude" | "check";

export interface ManualChange {
  /** The decision's id. */
  decision: string;
  action: ManualAction;
  /** Its images found in this build. */
  images: number;
  /** Previous ids of its images (and of a move's `into` image), ascending. */
  from: bigint[];
  /** Current ids of its images (none for an exclusion), ascending. */
  into: bigint[];
}

export interface ManualChangesParams {
  decisions: readonly OverrideDecision[];
  /** Ids of the decisions applied in this build. */
  appliedIds: readonly string[];
  /** Ids of the decisions the previous release applied (empty when it had no review). */
  previousAppliedIds: readonly string[];
  /** Ids the previous release gave an image (source SHA-256); empty when it was not there or had none. */
  previousIdsOf: (image: string) => readonly bigint[];
  /** Ids this release gives an image; empty when it is not in it (excluded, missing) or has none. */
  currentIdsOf: (image: string) => readonly bigint[];
  /** Whether the image is in this build at all (an excluded image is). */
  present: (image: string) => boolean;
  merges: readonly IdentityMerge[];
  splits: readonly IdentitySplit[];
}

export interface ManualChangesResult {
  /** New decisions in file order. */
  changes: ManualChange[];
  /** Per entry of `merges` / `splits`: whether the new decisions explain it entirely. */
  manualMerges: boolean[];
  manualSplits: boolean[];
  /** Ids of the decisions the previous release applied and this one does not, in the previous release's order. */
  withdrawn: string[];
  /** Per entry of `merges` / `splits`: whether undoing withdrawn decisions (still in the file) explains it entirely. */
  undoneMerges: boolean[];
  undoneSplits: boolean[];
}

const byBigint = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (values: Iterable<bigint>) => [...new Set(values)].sort(byBigint);

export function manualChanges(params: ManualChangesParams): ManualChangesResult {
  const before = new Set(params.previousAppliedIds);
  const applied = new Set(params.appliedIds);
  const changes: ManualChange[] = [];
  // Previous ids joined by a new decision (union-find over previous ids).
  const parent = new Map<bigint, bigint>();
  const find = (x: bigint): bigint => {
    let root = x;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    parent.set(x, root);
    return root;
  };
  const join = (ids: readonly bigint[]) => {
    for (const id of ids.slice(1)) {
      const a = find(ids[0]!);
      const b = find(id);
      if (a !== b) parent.set(b, a);
    }
  };
  // previous id -> current ids new decisions moved some of its images to.
  const movedTo = new Map<bigint, Set<bigint>>();

  for (const decision of params.decisions) {
    if (!applied.has(decision.id) || before.has(decision.id)) continue;
    const images = decision.images.filter(params.present);
    const action: ManualAction = decision.action === "split" && decision.into !== undefined ? "move" : decision.action;
    const fromImages = images.flatMap(params.previousIdsOf);
    const into = action === "exclude" ? [] : sorted(images.flatMap(params.currentIdsOf));
    const from = sorted(action === "move" ? [...fromImages, ...params.previousIdsOf(decision.into!)] : fromImages);
    changes.push({ decision: decision.id, action, images: images.length, from, into });
    if (action === "merge" || action === "move") join(from);
    if (action === "split" || action === "move") {
      for (const image of images) {
        for (const old of params.previousIdsOf(image)) {
          let set = movedTo.get(old);
          if (!set) movedTo.set(old, (set = new Set()));
          for (const id of params.currentIdsOf(image)) set.add(id);
        }
      }
    }
  }
  const manualMerges = params.merges.map((merge) => merge.from.length > 1 && merge.from.every((id) => find(id) === find(merge.from[0]!)));
  const manualSplits = params.splits.map((split) => {
    const moved = movedTo.get(split.id);
    if (!moved) return false;
    return split.into.filter((id) => !moved.has(id)).length <= 1;
  });

  // Withdrawn decisions: what undoing those the file still holds did.
  const withdrawn = params.previousAppliedIds.filter((id) => !applied.has(id));
  const gone = new Set(withdrawn);
  // previous id -> current ids the images of a withdrawn merge are in now; current id -> previous
  // ids the images of a withdrawn split or move had.
  const apartNow = new Map<bigint, Set<bigint>>();
  const backFrom = new Map<bigint, Set<bigint>>();
  const add = (map: Map<bigint, Set<bigint>>, key: bigint, values: readonly bigint[]) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    for (const value of values) set.add(value);
  };
  for (const decision of params.decisions) {
    if (!gone.has(decision.id) || (decision.action !== "merge" && decision.action !== "split")) continue;
    for (const image of decision.images.filter(params.present)) {
      const was = params.previousIdsOf(image);
      const now = params.currentIdsOf(image);
      if (decision.action === "merge") for (const old of was) add(apartNow, old, decision.images.filter(params.present).flatMap(params.currentIdsOf));
      else {
        // Back where they were: into their identity's current id, out of the one they had been moved to.
        for (const id of now) add(backFrom, id, was);
        for (const old of was) add(apartNow, old, now);
      }
    }
  }
  const undoneMerges = params.merges.map((merge) => {
    const back = backFrom.get(merge.id);
    return back !== undefined && merge.from.length > 1 && merge.from.filter((id) => !back.has(id)).length <= 1;
  });
  const undoneSplits = params.splits.map((split) => {
    const apart = apartNow.get(split.id);
    return apart !== undefined && split.into.filter((id) => !apart.has(id)).length <= 1;
  });
  return { changes, manualMerges, manualSplits, withdrawn, undoneMerges, undoneSplits };
}
