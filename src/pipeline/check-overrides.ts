/**
 * `verify --config` with `clustering.overrides` (issue #13): the published `cluster_id` must be
 * the review applied to DBSCAN's labels, exactly, and the review the release states
 * (`card-inputs.json`'s `review` block, which the card is rendered from) must be what the
 * decisions file gives. The work dir's `labels-sklearn.npy` (and `label-rows.npy` under
 * `noise: drop`) and embed index give DBSCAN's partition of the source images; the decisions are
 * applied again (overrides-step.ts reviewLabels, the same code `run` used) and the release's rows,
 * matched by `file_name`, must form that partition: the same images together, apart, as noise (-1)
 * or without a face (null), whatever the ids are called (stable ids renumber), and no excluded
 * image in it. Ids are compared as a partition because numbering is stable ids' business, not the
 * review's.
 *
 * Rows are matched in order: the release keeps source order and leaves rows out, so the k-th
 * release row named x is the k-th source row named x among those the review keeps in the release
 * (a source may name several images alike: the first of them excluded, or dropped, must not shift
 * the others); a release row named x beyond those is matched with the source rows named x that
 * should have been left out, and reported as such.
 *
 * Without those work files (a fresh machine verifying a published release) the check cannot be
 * made: it is skipped, and the caller says so plainly; so it is when the work dir holds another
 * build than the release (its cluster statistics are not the release's: verifying release v2
 * after v3 was built there), rather than blaming the review for every row. The review block's
 * SHA-256 is compared with the decisions file's in every case.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { readNpy } from "../common/npy.ts";
import type { CardReview } from "../card/index.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { readOverrides, type ReadOverridesResult } from "../identities/index.ts";
import { openDuckDb, readEmbedIndex, releaseShardFiles, sqlString } from "../release/index.ts";
import { cardReviewOf, reviewLabels, reviewReport } from "./overrides-step.ts";
import { workFiles } from "./work-files.ts";

/** Per-row problems listed before the rest are counted. */
const MAX_LISTED = 20;

export interface CheckOverridesResult {
  /** The check of cluster_id ran (false: skipped, see `skipped`). */
  checked: boolean;
  /** Why it was skipped. */
  skipped?: string;
  problems: string[];
}

/** What the review makes of one source row: left out, or in the release with this identity. */
type Expected = { kind: "absent"; why: string } | { kind: "identity"; label: bigint } | { kind: "noise" } | { kind: "no-face" };

/** The review block's fields, compared one by one (the SHA-256 apart: it needs no work dir). */
const REVIEW_FIELDS = ["decisions", "applied", "appliedIds", "checkedIdentities", "excludedImages", "excludedWithoutFace", "problems"] as const;

/** The release's card-inputs.json, as far as this check reads it; undefined when it has none (or none readable: verify's card check says why). */
async function savedCardInputs(folder: string): Promise<{ review?: CardReview; clusterStats?: Record<string, unknown> } | undefined> {
  const path = join(folder, "card-inputs.json");
  if (!existsSync(path)) return undefined;
  try {
    const saved = JSON.parse(await readFile(path, "utf8")) as unknown;
    return saved && typeof saved === "object" ? (saved as { review?: CardReview; clusterStats?: Record<string, unknown> }) : undefined;
  } catch {
    return undefined;
  }
}

/** The first statistic the work dir and the release disagree on, for the message. */
function statsDifference(release: Record<string, unknown>, work: Record<string, unknown>): string {
  for (const key of ["input_rows", "rows", "identities", "clusters", "noise_rows", "eps", "min_samples", "noise_policy"]) {
    if (!isDeepStrictEqual(release[key], work[key])) return `${key} ${JSON.stringify(work[key])} there, ${JSON.stringify(release[key])} in the release`;
  }
  const key = [...new Set([...Object.keys(release), ...Object.keys(work)])].sort().find((k) => !isDeepStrictEqual(release[k], work[k]));
  return key === undefined ? "the statistics differ" : `${key} differs`;
}

export async function checkReleaseOverrides(params: {
  folder: string;
  config: ReleaseConfig;
  split: string;
  /**
   * The decisions to check against (`run`: the file as it read it at its start, so a decision
   * written meanwhile neither fails the push nor passes a stale card); default: read the file now.
   */
  overrides?: ReadOverridesResult;
}): Promise<CheckOverridesResult> {
  const { config, folder, split } = params;
  const overridesPath = config.clustering.overrides!;
  const name = basename(overridesPath);
  const files = workFiles(config.workDir);
  const overrides = params.overrides ?? (await readOverrides(overridesPath, { key: `${config.file}: clustering.overrides` }));
  const problems: string[] = [];

  // The review the release states: there, and of this very file.
  const saved = await savedCardInputs(folder);
  const stated = saved?.review;
  if (saved && !stated) {
    problems.push(`card-inputs.json: no review block, but ${config.file} sets clustering.overrides (${name}): the release was built without the review, or its card does not state it`);
  } else if (stated && stated.sha256 !== overrides.sha256) {
    problems.push(
      `card-inputs.json: review.sha256 is ${String(stated.sha256)}, but ${name} has SHA-256 ${overrides.sha256}: the release was built with another version of the decisions`,
    );
  }

  const needed = [files.sklearnLabels, files.index, ...(config.clustering.noise === "drop" ? [files.labelRows] : [])];
  const lacking = needed.filter((path) => !existsSync(path));
  if (lacking.length > 0) {
    return {
      checked: false,
      skipped: `the work dir ${config.workDir} lacks ${lacking.map((p) => basename(p)).join(", ")} (DBSCAN's labels before the review), so the published cluster_id could not be checked against ${name}; run idclusters run (or embed + cluster) with this config and work dir first`,
      problems,
    };
  }
  // The work dir's build must be the release's: its DBSCAN statistics are published with it.
  if (saved?.clusterStats && existsSync(files.stats)) {
    let work: Record<string, unknown> | undefined;
    try {
      work = JSON.parse(await readFile(files.stats, "utf8")) as Record<string, unknown>;
    } catch {
      work = undefined;
    }
    if (!work || !isDeepStrictEqual(work, saved.clusterStats)) {
      return {
        checked: false,
        skipped:
          `the work dir ${config.workDir} holds another build than this release (its ${basename(files.stats)}: ${work ? statsDifference(saved.clusterStats, work) : "not readable"}), ` +
          `so the published cluster_id could not be checked against ${name}; verify with the work dir that built the release`,
        problems,
      };
    }
  }
  const labelsArray = readNpy(files.sklearnLabels).data;
  const labels = labelsArray instanceof BigInt64Array ? labelsArray : BigInt64Array.from(labelsArray as ArrayLike<number>, (v) => BigInt(v));
  const labelRows = config.clustering.noise === "drop" ? (readNpy(files.labelRows).data as ArrayLike<bigint | number>) : undefined;
  if (labelRows && labelRows.length !== labels.length) {
    return { checked: false, skipped: `${files.labelRows} has ${labelRows.length} rows for ${labels.length} labels in ${files.sklearnLabels}: the work dir's cluster outputs are out of step`, problems };
  }
  const index = await readEmbedIndex(files.index);
  const reviewed = reviewLabels({ labels, labelRows, index, decisions: overrides.decisions });
  const { result, embeddingRows } = reviewed;

  // The review block, field by field, against what the decisions give on this build.
  if (stated) {
    const expected = cardReviewOf(reviewReport(overridesPath, overrides.sha256 ?? "", overrides.decisions, result, reviewed.excludedWithoutFace));
    for (const field of REVIEW_FIELDS) {
      const absentIsZero = field === "excludedWithoutFace";
      const have = stated[field] ?? (absentIsZero ? 0 : undefined);
      const want = expected[field] ?? (absentIsZero ? 0 : undefined);
      if (!isDeepStrictEqual(have, want)) {
        problems.push(`card-inputs.json: review.${field} is ${JSON.stringify(have)}, but ${name} applied to the work dir's build gives ${JSON.stringify(want)}`);
      }
    }
  }

  // The review's verdict on every source row, as export-release.ts turns labels into rows.
  const rowOfEmbedding = new Map<number, number>();
  embeddingRows.forEach((embeddingRow, i) => rowOfEmbedding.set(embeddingRow, i));
  const decisionName = (k: number) => `decisions[${k}] (${overrides.decisions[k]!.id})`;
  const excludedBy = (sha: string | null) => {
    const k = overrides.decisions.findIndex((d) => d.action === "exclude" && sha !== null && d.images.includes(sha));
    return k >= 0 ? decisionName(k) : "a decision";
  };
  const expected: Expected[] = index.map((entry) => {
    const labelRow = entry.embeddingRow === null ? undefined : rowOfEmbedding.get(entry.embeddingRow);
    if (labelRow !== undefined && result.excluded[labelRow] === 1) return { kind: "absent", why: `${excludedBy(entry.imageSha256)} of ${name} excluded it` };
    if (entry.status === "error") return { kind: "absent", why: "it could not be read" };
    if (entry.status === "no_face") return entry.embeddingRow === null ? { kind: "absent", why: "it has no detected face (faces.no_face: drop)" } : { kind: "no-face" };
    if (labelRow === undefined) return { kind: "absent", why: "it is DBSCAN noise (clustering.noise: drop)" };
    const label = result.labels[labelRow]!;
    return label < 0n ? { kind: "noise" } : { kind: "identity", label };
  });
  // Source rows by file name, those the release should hold apart from those it should not.
  const rowsNamed = new Map<string, { present: number[]; absent: number[]; nextPresent: number; nextAbsent: number }>();
  index.forEach((entry, row) => {
    let named = rowsNamed.get(entry.fileName);
    if (!named) rowsNamed.set(entry.fileName, (named = { present: [], absent: [], nextPresent: 0, nextAbsent: 0 }));
    (expected[row]!.kind === "absent" ? named.absent : named.present).push(row);
  });
  /** The source row of the next release row named `fileName`: the next one kept, else the next one left out. */
  const sourceRowOf = (fileName: string): number | undefined => {
    const named = rowsNamed.get(fileName);
    if (!named) return undefined;
    if (named.nextPresent < named.present.length) return named.present[named.nextPresent++];
    if (named.nextAbsent < named.absent.length) return named.absent[named.nextAbsent++];
    return undefined;
  };

  let more = 0;
  const add = (line: string) => (problems.length < MAX_LISTED ? problems.push(line) : more++);
  const decisionsNaming = (row: number) => {
    const sha = index[row]!.imageSha256;
    const named = overrides.decisions.flatMap((d, k) => (sha !== null && (d.images.includes(sha) || d.into === sha) ? [decisionName(k)] : []));
    return named.length > 0 ? ` (decisions naming it: ${named.join(", ")})` : "";
  };
  const publishedOf = new Map<bigint, { row: number; where: string }>();
  const labelOf = new Map<bigint, { row: number; where: string; id: string }>();
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
        add(`${shard}: cluster_id not checked against ${name}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
        continue;
      }
      rows.forEach((r, k) => {
        const fileName = r.file_name == null ? null : String(r.file_name);
        const where = `${shard} row ${k}${fileName === null ? "" : ` (${fileName})`}`;
        const row = fileName === null ? undefined : sourceRowOf(fileName);
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
  if (more > 0) problems.push(`${more} more row(s) where the release does not reflect ${name}`);
  return { checked: true, problems };
}
