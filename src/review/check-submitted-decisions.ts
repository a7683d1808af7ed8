/**
 * What the review page asks the server to write, checked before anything is written: the page is
 * a browser tab, so its JSON is input like any other. The page sends the whole list it wants the
 * file to hold: the file's decisions it keeps (unchanged, in file order: undo drops one, nothing
 * edits one) followed by new ones. A new decision names only images of this build, by SHA-256;
 * who made it is the server's reviewer, and its file names are the build's, not the page's.
 */
import { UsageError } from "../common/errors.ts";
import { OVERRIDE_ACTIONS, type OverrideAction, type OverrideDecision, type OverridesFile } from "../identities/index.ts";

export interface CheckSubmittedDecisionsParams {
  /** The `decisions` the page sent (parsed JSON, anything). */
  submitted: unknown;
  /** The decisions file as it is now. */
  current: OverridesFile;
  /** File name of each image of this build, by SHA-256. */
  images: ReadonlyMap<string, string>;
  /** Who new decisions are recorded as. */
  reviewer: string;
  /** Now (a new decision's `when` must not lie in the future). */
  now: Date;
}

const SHA256 = /^[0-9a-f]{64}$/;
const ID = /^[0-9A-Za-z][0-9A-Za-z._:-]{0,79}$/;
const NEW_KEYS = new Set(["id", "action", "images", "into", "files", "who", "when", "why"]);

/** Whether the page sent back a saved decision exactly as the file holds it. */
function same(a: OverrideDecision, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a).sort();
  const other = Object.keys(b).filter((k) => b[k] !== undefined).sort();
  return JSON.stringify(keys) === JSON.stringify(other) && keys.every((k) => JSON.stringify((a as unknown as Record<string, unknown>)[k]) === JSON.stringify(b[k]));
}

/** The list to write; throws a UsageError naming the first problem. */
export function checkSubmittedDecisions(params: CheckSubmittedDecisionsParams): OverrideDecision[] {
  const { submitted, current, images } = params;
  if (!Array.isArray(submitted)) throw new UsageError("decisions: expected a list");
  const saved = new Map(current.decisions.map((d, i) => [d.id, { decision: d, index: i }]));
  const out: OverrideDecision[] = [];
  const ids = new Set<string>();
  let lastSaved = -1;
  let newSeen = false;
  submitted.forEach((value, i) => {
    const where = `decisions[${i}]`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${where}: expected an object`);
    const d = value as Record<string, unknown>;
    if (typeof d.id !== "string" || !ID.test(d.id)) throw new UsageError(`${where}.id: expected letters, digits and . _ : - (at most 80)`);
    if (ids.has(d.id)) throw new UsageError(`${where}.id: "${d.id}" appears twice`);
    ids.add(d.id);
    const kept = saved.get(d.id);
    if (kept) {
      // A decision already in the file: kept as it is, in file order, before any new one.
      if (!same(kept.decision, d)) throw new UsageError(`${where}: decision ${d.id} differs from the one in the file (saved decisions are undone, not edited)`);
      if (kept.index < lastSaved || newSeen) throw new UsageError(`${where}: decision ${d.id} is out of the file's order`);
      lastSaved = kept.index;
      out.push(kept.decision);
      return;
    }
    newSeen = true;
    for (const key of Object.keys(d)) if (!NEW_KEYS.has(key)) throw new UsageError(`${where}: unknown key "${key}"`);
    const action = d.action as OverrideAction;
    if (!OVERRIDE_ACTIONS.includes(action)) throw new UsageError(`${where}.action: expected one of ${OVERRIDE_ACTIONS.join(", ")}`);
    const list = d.images;
    if (!Array.isArray(list) || list.length === 0) throw new UsageError(`${where}.images: expected a non-empty list of image SHA-256s`);
    for (const sha of list) {
      if (typeof sha !== "string" || !SHA256.test(sha)) throw new UsageError(`${where}.images: ${JSON.stringify(sha)} is not a SHA-256`);
      if (!images.has(sha)) throw new UsageError(`${where}.images: ${sha} is not an image of this build`);
    }
    if (new Set(list).size !== list.length) throw new UsageError(`${where}.images: lists an image twice`);
    if (action === "merge" && list.length < 2) throw new UsageError(`${where}.images: a merge names at least two images`);
    let into: string | undefined;
    if (d.into !== undefined && d.into !== null) {
      if (action !== "split") throw new UsageError(`${where}.into: only a split has "into"`);
      if (typeof d.into !== "string" || !images.has(d.into)) throw new UsageError(`${where}.into: not an image of this build`);
      if (list.includes(d.into)) throw new UsageError(`${where}.into: the destination is one of the images moved`);
      into = d.into;
    }
    let why: string | undefined;
    if (d.why !== undefined && d.why !== null) {
      if (typeof d.why !== "string" || d.why.length > 2000) throw new UsageError(`${where}.why: expected text (at most 2000 characters)`);
      why = d.why.trim() === "" ? undefined : d.why;
    }
    if (action === "exclude" && why === undefined) throw new UsageError(`${where}: an exclude says why`);
    let when = params.now.toISOString();
    if (d.when !== undefined) {
      const t = typeof d.when === "string" ? Date.parse(d.when) : Number.NaN;
      if (Number.isNaN(t)) throw new UsageError(`${where}.when: not an ISO 8601 time`);
      // The page's clock says when the move was made; a clock ahead of ours is taken as now.
      when = new Date(Math.min(t, params.now.getTime())).toISOString();
    }
    out.push({
      id: d.id,
      action,
      images: list as string[],
      ...(into !== undefined && { into }),
      files: (list as string[]).map((sha) => images.get(sha)!),
      who: params.reviewer,
      when,
      ...(why !== undefined && { why }),
    });
  });
  return out;
}
