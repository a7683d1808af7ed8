/**
 * `verify --against`: our labels against a published release's `cluster_id`, row by row. Rows are
 * aligned by position and must be the same images (file_name and image SHA-256); the partitions
 * are compared with the adjusted Rand index (1.0 = the same identities whatever the numbering).
 * A differing row is one whose identity, mapped onto the published ids by largest overlap
 * (mapStableIds), is not its published id.
 */
import { adjustedRandIndex } from "../common/adjusted-rand-index.ts";
import type { ReleaseRows } from "../release/index.ts";
import { mapStableIds } from "./stable-ids.ts";

export interface LabelDifference {
  /** Row index in release order. */
  row: number;
  fileName: string | null;
  ours: string | null;
  theirs: string | null;
  /** "identity" (label differs) or "image" (the rows are not the same image). */
  kind: "identity" | "image";
}

export interface CompareLabelsResult {
  /**
   * Adjusted Rand index over the rows that are the same image on both sides (rows without an id
   * count as singletons); other rows are listed in `differences` as kind "image".
   */
  ari: number;
  rows: number;
  differences: LabelDifference[];
}

export function compareReleaseLabels(params: { ours: ReleaseRows; theirs: ReleaseRows }): CompareLabelsResult {
  const { ours, theirs } = params;
  const differences: LabelDifference[] = [];
  const rows = Math.max(ours.ids.length, theirs.ids.length);
  const text = (id: bigint | null | undefined) => (id === null || id === undefined ? null : String(id));
  const same: number[] = [];
  for (let i = 0; i < rows; i++) {
    const sameImage = i < ours.keys.length && i < theirs.keys.length && ours.keys[i] === theirs.keys[i] && ours.fileNames[i] === theirs.fileNames[i];
    if (sameImage) same.push(i);
    else differences.push({ row: i, fileName: ours.fileNames[i] ?? theirs.fileNames[i] ?? null, ours: text(ours.ids[i]), theirs: text(theirs.ids[i]), kind: "image" });
  }
  // A row without identity is its own group (as `noise: singleton` would make it).
  const label = (id: bigint | null | undefined, row: number) => (id === null || id === undefined ? `none:${row}` : `id:${id}`);
  const ari = same.length === 0 ? 0 : adjustedRandIndex(same.map((i) => label(theirs.ids[i], i)), same.map((i) => label(ours.ids[i], i)));
  const mapped = mapStableIds({
    previous: { keys: same.map((i) => `${i}`), ids: same.map((i) => theirs.ids[i] ?? null) },
    current: { keys: same.map((i) => `${i}`), ids: same.map((i) => ours.ids[i] ?? null) },
  }).mapping;
  for (const i of same) {
    const o = ours.ids[i] ?? null;
    const t = theirs.ids[i] ?? null;
    const differs = o === null || t === null ? o !== t : mapped.get(o) !== t;
    if (differs) differences.push({ row: i, fileName: ours.fileNames[i] ?? null, ours: text(o), theirs: text(t), kind: "identity" });
  }
  differences.sort((a, b) => a.row - b.row);
  return { ari, rows, differences };
}
