/**
 * `verify --config` with `clustering.overrides` (issue #13): the published `cluster_id` must be
 * the review applied to DBSCAN's labels, exactly. The work dir's `labels-sklearn.npy` (and
 * `label-rows.npy` under `noise: drop`) and embed index give DBSCAN's partition of the source
 * images; the decisions are applied again (overrides-step.ts reviewLabels, the same code `run`
 * used) and the release's rows, matched by `file_name` (the k-th row named x with the k-th source
 * row named x: the release keeps source order), must form that partition: the same images
 * together, apart, as noise (-1) or without a face (null), whatever the ids are called (stable ids
 * renumber), and no excluded image in it. Ids are compared as a partition because numbering is
 * stable ids' business, not the review's.
 *
 * Without those work files (a fresh machine verifying a published release) the check cannot be
 * made: it is skipped, and the caller says so plainly.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { readNpy } from "../common/npy.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { readOverrides } from "../identities/index.ts";
import { openDuckDb, readEmbedIndex, releaseShardFiles, sqlString } from "../release/index.ts";
import { reviewLabels } from "./overrides-step.ts";
import { workFiles } from "./work-files.ts";

/** Per-row problems listed before the rest are counted. */
const MAX_LISTED = 20;

export interface CheckOverridesResult {
  /** The check ran (false: skipped, see `skipped`). */
  checked: boolean;
  /** Why it was skipped. */
  skipped?: string;
  problems: string[];
}

/** What the review makes of one source row: left out, or in the release with this identity. */
type Expected = { kind: "absent"; why: string } | { kind: "identity"; label: bigint } | { kind: "noise" } | { kind: "no-face" };

export async function checkReleaseOverrides(params: { folder: string; config: ReleaseConfig; split: string }): Promise<CheckOverridesResult> {
  const { config, folder, split } = params;
  const overridesPath = config.clustering.overrides!;
  const files = workFiles(config.workDir);
  const needed = [files.sklearnLabels, files.index, ...(config.clustering.noise === "drop" ? [files.labelRows] : [])];
  const lacking = needed.filter((path) => !existsSync(path));
  if (lacking.length > 0) {
    return {
      checked: false,
      skipped: `the work dir ${config.workDir} lacks ${lacking.map((p) => basename(p)).join(", ")} (DBSCAN's labels before the review), so the published cluster_id could not be checked against ${basename(overridesPath)}; run idclusters run (or embed + cluster) with this config and work dir first`,
      problems: [],
    };
  }
  const overrides = await readOverrides(overridesPath, { key: `${config.file}: clustering.overrides` });
  const labelsArray = readNpy(files.sklearnLabels).data;
  const labels = labelsArray instanceof BigInt64Array ? labelsArray : BigInt64Array.from(labelsArray as ArrayLike<number>, (v) => BigInt(v));
  const labelRows = config.clustering.noise === "drop" ? (readNpy(files.labelRows).data as ArrayLike<bigint | number>) : undefined;
  if (labelRows && labelRows.length !== labels.length) {
    return { checked: false, skipped: `${files.labelRows} has ${labelRows.length} rows for ${labels.length} labels in ${files.sklearnLabels}: the work dir's cluster outputs are out of step`, problems: [] };
  }
  const index = await readEmbedIndex(files.index);
  const { result, embeddingRows } = reviewLabels({ labels, labelRows, index, decisions: overrides.decisions });

  // The review's verdict on every source row, as export-release.ts turns labels into rows.
  const rowOfEmbedding = new Map<number, number>();
  embeddingRows.forEach((embeddingRow, i) => rowOfEmbedding.set(embeddingRow, i));
  const excludedBy = (sha: string | null) =>
    overrides.decisions.find((d) => d.action === "exclude" && sha !== null && d.images.includes(sha))?.id ?? "?";
  const expected: Expected[] = index.map((entry) => {
    const labelRow = entry.embeddingRow === null ? undefined : rowOfEmbedding.get(entry.embeddingRow);
    if (labelRow !== undefined && result.excluded[labelRow] === 1) return { kind: "absent", why: `decision ${excludedBy(entry.imageSha256)} of ${basename(overridesPath)} excluded it` };
    if (entry.status === "error") return { kind: "absent", why: "it could not be read" };
    if (entry.status === "no_face") return entry.embeddingRow === null ? { kind: "absent", why: "it has no detected face (faces.no_face: drop)" } : { kind: "no-face" };
    if (labelRow === undefined) return { kind: "absent", why: "it is DBSCAN noise (clustering.noise: drop)" };
    const label = result.labels[labelRow]!;
    return label < 0n ? { kind: "noise" } : { kind: "identity", label };
  });
  const sourceRowsOf = new Map<string, number[]>();
  index.forEach((entry, row) => {
    const list = sourceRowsOf.get(entry.fileName);
    if (list) list.push(row);
    else sourceRowsOf.set(entry.fileName, [row]);
  });

  const problems: string[] = [];
  let more = 0;
  const add = (line: string) => (problems.length < MAX_LISTED ? problems.push(line) : more++);
  const decisionsNaming = (row: number) => {
    const sha = index[row]!.imageSha256;
    const ids = overrides.decisions.filter((d) => sha !== null && (d.images.includes(sha) || d.into === sha)).map((d) => d.id);
    return ids.length > 0 ? ` (decisions naming it: ${ids.join(", ")})` : "";
  };
  const publishedOf = new Map<bigint, { row: number; where: string }>();
  const labelOf = new Map<bigint, { row: number; where: string; id: string }>();
  const seen = new Map<string, number>();
  const inRelease = new Set<number>();
  const db = await openDuckDb();
  try {
    for (const file of await releaseShardFiles(folder, split)) {
      const shard = `data/${basename(file)}`;
      let rows;
      try {
        rows = await db.all(`select file_name, cluster_id from read_parquet(${sqlString(file)}, file_row_number = true) order by file_row_number`);
      } catch (error) {
        // verify's own checks say what is wrong with the shard; this one says it could not look.
        add(`${shard}: cluster_id not checked against ${basename(overridesPath)}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
        continue;
      }
      rows.forEach((r, k) => {
        const fileName = r.file_name == null ? null : String(r.file_name);
        const where = `${shard} row ${k}${fileName === null ? "" : ` (${fileName})`}`;
        const occurrence = fileName === null ? 0 : (seen.get(fileName) ?? 0);
        if (fileName !== null) seen.set(fileName, occurrence + 1);
        const row = fileName === null ? undefined : sourceRowsOf.get(fileName)?.[occurrence];
        if (row === undefined) {
          add(`${where}: not a source row of the work dir's embed index (${files.index}): the work dir holds another build, or the release was altered`);
          return;
        }
        inRelease.add(row);
        const want = expected[row]!;
        const id = r.cluster_id == null ? null : BigInt(r.cluster_id as bigint | number);
        if (want.kind === "absent") return void add(`${where}: is in the release, but ${want.why}`);
        if (want.kind === "no-face") return void (id !== null && add(`${where}: cluster_id ${id}, but the image has no detected face (null)`));
        if (want.kind === "noise") return void (id !== -1n && add(`${where}: cluster_id ${id ?? "null"}, but after the overrides it is DBSCAN noise (-1)${decisionsNaming(row)}`));
        if (id === null || id < 0n) return void add(`${where}: cluster_id ${id ?? "null"}, but after the overrides it belongs to an identity${decisionsNaming(row)}`);
        const byId = publishedOf.get(id);
        const byLabel = labelOf.get(want.label);
        if (byId === undefined && byLabel === undefined) {
          publishedOf.set(id, { row, where });
          labelOf.set(want.label, { row, where, id: String(id) });
        } else if (byId !== undefined && expected[byId.row]!.kind === "identity" && (expected[byId.row] as { label: bigint }).label !== want.label) {
          add(`${where}: cluster_id ${id} puts it with ${index[byId.row]!.fileName}, but after the overrides they are different identities${decisionsNaming(row)}`);
        } else if (byLabel !== undefined && byLabel.id !== String(id)) {
          add(`${where}: cluster_id ${id}, but after the overrides it is one identity with ${index[byLabel.row]!.fileName} (cluster_id ${byLabel.id})${decisionsNaming(row)}`);
        }
      });
    }
  } finally {
    db.close();
  }
  expected.forEach((want, row) => {
    if (want.kind !== "absent" && !inRelease.has(row)) add(`${index[row]!.fileName}: not in the release, but after the overrides it should be${decisionsNaming(row)}`);
  });
  if (more > 0) problems.push(`${more} more row(s) where the release does not reflect ${basename(overridesPath)}`);
  return { checked: true, problems };
}
