/**
 * The page's data: the build's rows, DBSCAN's labels, the decisions file's decisions applied with
 * applyOverrides (exactly as `run` applies them), and the identities that result, ranked by risk
 * (rank-clusters.ts). Column by column and rounded, so 28k rows stay a few MB of JSON.
 */
import { createHash } from "node:crypto";
import { applyOverrides, type ReadOverridesResult } from "../identities/index.ts";
import { rankClusters } from "./rank-clusters.ts";
import type { ReviewBuild, ReviewData } from "./review-types.ts";

export interface BuildReviewDataParams {
  build: ReviewBuild;
  /** The decisions file as read now (readOverrides, `missingIsEmpty`). */
  overrides: ReadOverridesResult;
  mode: ReviewData["mode"];
  /** The config's `name`. */
  name: string;
  /** Who new decisions are recorded as. */
  reviewer: string;
  /** The decisions file as shown to the user, whether the config names it, and the config value it needs. */
  overridesFile: { shown: string; configured: boolean; configValue: string };
  /** Where the page finds thumbnails: `<base><sha256>.<ext>`. */
  thumbs: ReviewData["thumbs"];
  /** Threads for the centroid search. */
  threads?: number;
}

/** Group key of a review row after the decisions: its label, or -(row + 2) for a kept noise row. */
function keyOf(label: number, row: number): number {
  return label >= 0 ? label : -(row + 2);
}

const round = (x: number | null, digits = 4) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

export async function buildReviewData(params: BuildReviewDataParams): Promise<ReviewData> {
  const { build, overrides } = params;
  const n = build.labels.length;
  const decisions = overrides.decisions;
  const applied = applyOverrides({
    labels: BigInt64Array.from(build.labels, (v) => BigInt(v)),
    keys: build.rows.sha256,
    fileNames: build.rows.fileName,
    absent: build.absent,
    absentNames: build.absentNames,
    decisions,
  });
  const labels = Int32Array.from(applied.labels, (v) => Number(v));

  const groupRows = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (applied.excluded[i]) continue;
    const key = keyOf(labels[i]!, i);
    const rows = groupRows.get(key);
    if (rows) rows.push(i);
    else groupRows.set(key, [i]);
  }
  const keys = [...groupRows.keys()];
  const groups = [...groupRows.values()];
  const ranked = await rankClusters({
    groups,
    embeddings: build.embeddings,
    dims: build.dims,
    embeddingRow: build.rows.embeddingRow,
    ambiguousPairs: build.ambiguousPairs,
    eps: build.eps,
    threads: params.threads,
  });

  const clusters: ReviewData["clusters"] = { key: [], kinds: [], score: [], weak: [], weakRow: [], near: [], nearKey: [], amb: [], ambKey: [] };
  for (const g of ranked.order) {
    const risk = ranked.risks[g]!;
    clusters.key.push(keys[g]!);
    clusters.kinds.push(risk.kinds);
    clusters.score.push(round(risk.score)!);
    clusters.weak.push(round(risk.weakestLink));
    clusters.weakRow.push(risk.weakestRow);
    clusters.near.push(round(risk.nearestDistance));
    clusters.nearKey.push(risk.nearestGroup >= 0 ? keys[risk.nearestGroup]! : null);
    clusters.amb.push(risk.ambiguousPairs);
    clusters.ambKey.push(risk.ambiguousGroup >= 0 ? keys[risk.ambiguousGroup]! : null);
  }

  const listOf = (flags: Uint8Array) => {
    const out: number[] = [];
    for (let i = 0; i < flags.length; i++) if (flags[i]) out.push(i);
    return out;
  };
  const buildId = createHash("sha256")
    .update(params.name)
    .update(build.rows.sha256.join(","))
    .update(new Uint8Array(build.labels.buffer, build.labels.byteOffset, build.labels.byteLength))
    .update(overrides.sha256 ?? "none")
    .digest("hex")
    .slice(0, 16);

  return {
    format: 1,
    mode: params.mode,
    name: params.name,
    eps: build.eps,
    minSamples: build.minSamples,
    noise: build.noise,
    reviewer: params.reviewer,
    overrides: {
      file: params.overridesFile.shown,
      configured: params.overridesFile.configured,
      configValue: params.overridesFile.configValue,
      sha256: overrides.sha256,
      decisions,
      problems: applied.problems.map((p) => p.message),
    },
    rows: {
      file: build.rows.fileName,
      row: Array.from(build.rows.sourceRow),
      sha: build.rows.sha256,
      base: Array.from(build.labels),
    },
    applied: decisions.length === 0 ? null : { labels: Array.from(labels), excluded: listOf(applied.excluded), checked: listOf(applied.checkedRows) },
    clusters,
    largeFrom: ranked.largeFrom,
    nearWithin: round(ranked.nearWithin)!,
    skipped: build.skipped,
    thumbs: params.thumbs,
    buildId,
  };
}
