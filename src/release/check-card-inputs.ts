/**
 * For `verify`: the release's `card-inputs.json` (what the card was computed from, published next
 * to it) against what the shards hold. Read as plain JSON, without the card stage: the numbers are
 * compared with the data this verifier measured, the images listed as without a face with the rows
 * whose `cluster_id` is null, the noise policy with the rows whose `cluster_id` is -1, and every
 * value is checked for absolute path-like strings (the build machine's folders in any file are
 * check-local-paths.ts's).
 */
import { isDeepStrictEqual } from "node:util";
import { type LabelRow, RowProblems, rowName } from "./check-labels.ts";
import { absolutePathsInJson } from "./check-local-paths.ts";
import { NOISE_CLUSTER_ID } from "./label-counts.ts";
import type { ReleaseDataInfo } from "./release-data-info.ts";

export const CARD_INPUTS_FILE = "card-inputs.json";

/** The parts of card-inputs.json this check reads (src/card/card-inputs-file.ts writes it). */
interface SavedInputs {
  data?: unknown;
  problems?: { row?: unknown; fileName?: unknown; status?: unknown }[];
  clusterStats?: { noise_policy?: unknown };
  policies?: { noFace?: unknown; noise?: unknown };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "nothing" : text.length > 120 ? text.slice(0, 117) + "..." : text;
}

/** Path of the first difference between two plain values, with both sides. */
export function firstDifference(saved: unknown, measured: unknown, path: string): string {
  if (Array.isArray(saved) && Array.isArray(measured)) {
    for (let i = 0; i < Math.max(saved.length, measured.length); i++) {
      if (!isDeepStrictEqual(saved[i], measured[i])) return firstDifference(saved[i], measured[i], `${path}[${i}]`);
    }
  } else if (saved && measured && typeof saved === "object" && typeof measured === "object" && !Array.isArray(saved) && !Array.isArray(measured)) {
    for (const key of new Set([...Object.keys(measured), ...Object.keys(saved)])) {
      const a = (saved as Record<string, unknown>)[key];
      const b = (measured as Record<string, unknown>)[key];
      if (!isDeepStrictEqual(a, b)) return firstDifference(a, b, `${path}.${key}`);
    }
  }
  return `${path} is ${describe(saved)}, the shards give ${describe(measured)}`;
}

export interface CheckCardInputsParams {
  /** The file's text. */
  text: string;
  /** What the shards hold, per split (with `labels`). */
  splits: readonly ReleaseDataInfo[];
  /** Every row's label, per split, as read back. */
  rows: ReadonlyMap<string, readonly LabelRow[]>;
}

export function checkCardInputs(params: CheckCardInputsParams): string[] {
  const where = CARD_INPUTS_FILE;
  let saved: SavedInputs;
  try {
    saved = JSON.parse(params.text) as SavedInputs;
  } catch (error) {
    return [`${where}: not valid JSON (${error instanceof Error ? error.message : String(error)})`];
  }
  if (!saved || typeof saved !== "object" || Array.isArray(saved)) return [`${where}: not a JSON object`];
  const problems: string[] = [];

  // Nothing pushed names a folder of the build machine.
  for (const { key, token } of absolutePathsInJson(saved).slice(0, 10)) {
    problems.push(`${where}: ${key} holds an absolute local path (${token}); a local source or model is named by its base name and SHA-256`);
  }

  // The data the card was computed from is the data in the shards.
  const data = saved.data as Partial<ReleaseDataInfo> | undefined;
  const measured = params.splits.find((s) => s.split === data?.split);
  if (!data || typeof data !== "object") problems.push(`${where}: no data`);
  else if (!measured) problems.push(`${where}: data is for split ${describe(data.split)}, the shards hold ${params.splits.map((s) => s.split).join(", ")}`);
  else {
    const labels = data.labels;
    if (labels && labels.identityRows + labels.noiseRows + labels.noFaceRows !== data.numExamples) {
      problems.push(
        `${where}: data.labels do not add up: ${labels.identityRows} image(s) in identities + ${labels.noiseRows} noise + ` +
          `${labels.noFaceRows} without a face != ${describe(data.numExamples)} rows`,
      );
    }
    // The counts, one line per count that differs; then the rest (shards, sizes, features). An
    // older card-inputs.json has no labels: compare what it has.
    const { labels: measuredLabels, ...rest } = JSON.parse(JSON.stringify(measured)) as ReleaseDataInfo;
    const { labels: savedLabels, ...savedRest } = data;
    if (savedLabels !== undefined) {
      for (const key of new Set([...Object.keys(measuredLabels ?? {}), ...Object.keys(savedLabels)])) {
        const a = (savedLabels as unknown as Record<string, unknown>)[key];
        const b = (measuredLabels as unknown as Record<string, unknown> | undefined)?.[key];
        if (!isDeepStrictEqual(a, b)) problems.push(`${where}: ${firstDifference(a, b, `data.labels.${key}`)}`);
      }
    }
    if (!isDeepStrictEqual(rest, savedRest)) problems.push(`${where}: ${firstDifference(savedRest, rest, "data")}`);
  }
  if (!measured) return problems;
  const rows = params.rows.get(measured.split) ?? [];

  // Noise rows (-1) only where the noise policy keeps them.
  const noisePolicy = saved.policies?.noise ?? saved.clusterStats?.noise_policy;
  if (typeof noisePolicy === "string" && noisePolicy !== "keep") {
    const noise = new RowProblems((n) => `${where}: ${n} more row(s) with cluster_id -1`);
    for (const r of rows) {
      if (r.id === NOISE_CLUSTER_ID) noise.add(`${rowName(r)}: cluster_id -1, but the release was built with clustering.noise: ${noisePolicy} (${where})`);
    }
    problems.push(...noise.lines());
  }

  // Rows without a face (the embed stage's no_face rows) are exactly the rows with a null cluster_id.
  const noFaceNames = new Map<string, number>();
  for (const p of Array.isArray(saved.problems) ? saved.problems : []) {
    if (p && p.status === "no_face" && typeof p.fileName === "string") noFaceNames.set(p.fileName, (noFaceNames.get(p.fileName) ?? 0) + 1);
  }
  const measuredNoFace = measured.labels?.noFaceRows ?? 0;
  const keep = saved.policies?.noFace === undefined ? measuredNoFace > 0 : saved.policies.noFace === "keep";
  const nulls = new RowProblems((n) => `${where}: ${n} more row(s) whose null cluster_id disagrees with the images without a face`);
  const byName = new Map<string, LabelRow[]>();
  for (const r of rows) {
    const list = byName.get(r.fileName ?? "");
    if (list) list.push(r);
    else byName.set(r.fileName ?? "", [r]);
  }
  for (const r of rows) {
    if (r.id !== null) continue;
    if (!keep) nulls.add(`${rowName(r)}: cluster_id is null, but the release was built with faces.no_face: drop (a noise row is -1)`);
    else if (!noFaceNames.has(r.fileName ?? "")) {
      nulls.add(`${rowName(r)}: cluster_id is null, but ${where} lists no missing face for it (a noise row is -1, a face in an identity has an id)`);
    }
  }
  if (keep) {
    for (const [name, listed] of noFaceNames) {
      const withName = byName.get(name) ?? [];
      const nullRows = withName.filter((r) => r.id === null).length;
      if (withName.length === 0) nulls.add(`${where}: ${name} has no face and faces.no_face is keep, but no row of the shards is ${name}`);
      else if (nullRows < listed) {
        for (const r of withName.filter((x) => x.id !== null).slice(0, listed - nullRows)) {
          nulls.add(`${rowName(r)}: no face was detected in this image (${where} problems), but its cluster_id is ${r.id}; a row without a face has a null cluster_id`);
        }
      }
    }
  }
  problems.push(...nulls.lines());
  return problems;
}
