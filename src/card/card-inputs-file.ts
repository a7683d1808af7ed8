/**
 * `card-inputs.json`: the card's inputs less the config, saved next to a release by `export` so
 * `idclusters card` and `verify` can re-render the card later without re-reading every shard.
 * Plain JSON, keys in a fixed order, no timestamps.
 */
import { readFile } from "node:fs/promises";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError } from "../common/errors.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { publicCardInputs } from "./card-inputs.ts";
import type { CardInputs } from "./card-inputs.ts";

export type SavedCardInputs = Omit<CardInputs, "config"> & {
  /**
   * The row policies the release was built with, so `verify` can check the rows without the config:
   * `noFace` (`faces.no_face`: rows without a face kept with a null `cluster_id`, or dropped) and
   * `noise` (`clustering.noise`: -1 rows only under `keep`).
   */
  policies?: { noFace: "drop" | "keep"; noise: "singleton" | "keep" | "drop" };
};

/**
 * Writes the inputs as they may be published: no folder of the build machine (a local source or
 * model is named by its base name and SHA-256, see publicCardInputs), the config left out.
 */
export async function saveCardInputs(params: { inputs: CardInputs; path: string }): Promise<void> {
  const { config, ...rest } = params.inputs;
  const saved = publicCardInputs(rest);
  const ordered: SavedCardInputs = {
    data: saved.data,
    clusterStats: saved.clusterStats,
    problems: saved.problems,
    models: saved.models,
    source: saved.source,
    toolVersion: saved.toolVersion,
    policies: { noFace: config.faces.noFace, noise: config.clustering.noise },
    ...(saved.previousCommit !== undefined && { previousCommit: saved.previousCommit }),
    ...(saved.buildKey !== undefined && { buildKey: saved.buildKey }),
    ...(saved.changelog !== undefined && { changelog: saved.changelog }),
    ...(saved.review !== undefined && { review: saved.review }),
  };
  await mkdir(dirname(params.path), { recursive: true });
  await writeFile(params.path, JSON.stringify(ordered, null, 2) + "\n");
}

function requireKeys(value: unknown, keys: string[], where: string): Record<string, unknown> {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${where}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  const missing = keys.filter((k) => !(k in record));
  if (missing.length > 0) throw new UsageError(`${where}: missing key(s) ${missing.join(", ")}`);
  return record;
}

/** Reads a `card-inputs.json` (and optionally a separate `stats.json` that replaces its statistics). */
export async function loadCardInputs(params: { path: string; config: ReleaseConfig; statsPath?: string }): Promise<CardInputs> {
  const read = async (path: string) => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new UsageError(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  const saved = requireKeys(await read(params.path), ["data", "clusterStats", "problems", "models", "source", "toolVersion"], params.path);
  let clusterStats = saved.clusterStats;
  if (params.statsPath) {
    clusterStats = requireKeys(await read(params.statsPath), ["rows", "identities", "size_distribution", "nearest_neighbor", "eps", "min_samples"], params.statsPath);
  }
  const { policies: _policies, ...inputs } = saved as unknown as SavedCardInputs;
  return { ...inputs, clusterStats: clusterStats as CardInputs["clusterStats"], config: params.config };
}
