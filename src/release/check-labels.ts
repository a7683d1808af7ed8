/**
 * For `verify`: the `cluster_id` / `cluster_size` of every row of a split, as read back from the
 * shards, against the rules of label-counts.ts, and the counts the card shows, recounted.
 */
import { countLabels, NOISE_CLUSTER_ID, NOISE_CLUSTER_SIZE } from "./label-counts.ts";
import type { ReleaseLabelCounts } from "./release-data-info.ts";

/** One row as read back from a shard. */
export interface LabelRow {
  /** Repo path of its shard (`data/train-00000-of-00001.parquet`). */
  shard: string;
  /** Row number inside the shard, from 0. */
  row: number;
  fileName: string | null;
  id: number | null;
  size: number | null;
}

/** Problems of one kind listed row by row up to this many; the rest are counted. */
export const MAX_ROWS_LISTED = 10;

/** `data/x.parquet row 12 (amy/amy1.png)`: where a row is, for messages. */
export function rowName(row: Pick<LabelRow, "shard" | "row" | "fileName">): string {
  return `${row.shard} row ${row.row}${row.fileName === null ? "" : ` (${row.fileName})`}`;
}

/** Collects per-row problems of one kind, listing the first few and counting the rest. */
export class RowProblems {
  private readonly listed: string[] = [];
  private more = 0;
  constructor(private readonly summary: (count: number) => string) {}
  add(line: string): void {
    if (this.listed.length < MAX_ROWS_LISTED) this.listed.push(line);
    else this.more++;
  }
  lines(): string[] {
    if (this.listed.length === 0) return [];
    return [...this.listed, ...(this.more > 0 ? [`${this.summary(this.more)}`] : [])];
  }
}

export interface CheckLabelsResult {
  problems: string[];
  counts: ReleaseLabelCounts;
}

/** Checks every row's `cluster_id` and `cluster_size` and counts the split's rows by kind. */
export function checkLabels(split: string, rows: readonly LabelRow[]): CheckLabelsResult {
  const badId = new RowProblems((n) => `split ${split}: ${n} more row(s) with an invalid cluster_id`);
  const badNoise = new RowProblems((n) => `split ${split}: ${n} more noise row(s) with a wrong cluster_size`);
  const badNull = new RowProblems((n) => `split ${split}: ${n} more row(s) with only one of cluster_id and cluster_size null`);
  const rowsOf = new Map<number, LabelRow[]>();
  for (const r of rows) {
    if (r.id === null) {
      if (r.size !== null) badNull.add(`${rowName(r)}: cluster_id is null (no face detected) but cluster_size is ${r.size}; a row without a face has a null cluster_size`);
    } else if (!Number.isInteger(r.id) || r.id < NOISE_CLUSTER_ID) {
      badId.add(`${rowName(r)}: cluster_id ${r.id}; an id is >= 0, or -1 for DBSCAN noise (clustering.noise: keep)`);
    } else if (r.size === null) {
      badNull.add(`${rowName(r)}: cluster_size is null but cluster_id is ${r.id}`);
    } else if (r.id === NOISE_CLUSTER_ID) {
      if (r.size !== NOISE_CLUSTER_SIZE) badNoise.add(`${rowName(r)}: cluster_id -1 (DBSCAN noise) has cluster_size ${r.size}, expected ${NOISE_CLUSTER_SIZE}`);
    } else {
      const list = rowsOf.get(r.id);
      if (list) list.push(r);
      else rowsOf.set(r.id, [r]);
    }
  }
  // cluster_size = number of rows sharing the cluster_id, for every id >= 0.
  let wrongGroups = 0;
  let example = "";
  for (const [id, list] of rowsOf) {
    const wrong = list.find((r) => r.size !== list.length);
    if (!wrong) continue;
    if (wrongGroups++ === 0) example = `cluster_id ${id}: ${list.length} row(s), cluster_size ${wrong.size} at ${rowName(wrong)}`;
  }
  const problems = [...badId.lines(), ...badNoise.lines(), ...badNull.lines()];
  if (wrongGroups > 0) problems.push(`split ${split}: ${wrongGroups} cluster_id(s) whose cluster_size is not their row count (e.g. ${example})`);
  return { problems, counts: countLabels(rows.map((r) => (r.id === null || Number.isInteger(r.id) ? r.id : Number.NaN))) };
}
