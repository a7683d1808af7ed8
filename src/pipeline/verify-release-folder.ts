/**
 * `verify` of a release folder as the command does it: every shard re-read by DuckDB (schema,
 * metadata, counts, page index) and, given the config and card-inputs.json, every generated number
 * of the card; with `clustering.overrides`, that the published `cluster_id` is the review applied
 * to the work dir's DBSCAN labels and that card-inputs.json states that review (check-overrides.ts).
 * The publish step runs it before anything is sent.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReleaseConfig } from "../config/index.ts";
import type { ReadOverridesResult } from "../identities/index.ts";
import { checkCard, loadCardInputs } from "../card/index.ts";
import { verifyRelease, type VerifyReleaseResult } from "../release/index.ts";
import { checkReleaseOverrides } from "./check-overrides.ts";

export interface VerifyReleaseFolderParams {
  folder: string;
  /** With a config (and the folder's card-inputs.json), the card's numbers are checked too. */
  config?: ReleaseConfig;
  maxRowGroupRows?: number;
  /** The decisions file as already read (`run`, before pushing: as it read it at its start); default: read now. */
  overrides?: ReadOverridesResult;
}

export interface VerifyReleaseFolderResult extends VerifyReleaseResult {
  cardChecked: boolean;
  /** With `clustering.overrides`: whether the published cluster_id was checked against them, or why not. */
  overrides?: { checked: boolean; skipped?: string };
}

export async function verifyReleaseFolder(params: VerifyReleaseFolderParams): Promise<VerifyReleaseFolderResult> {
  const { folder, config } = params;
  const inputsPath = join(folder, "card-inputs.json");
  const cardChecked = config !== undefined && existsSync(inputsPath);
  const result = await verifyRelease({
    folder,
    ...(params.maxRowGroupRows !== undefined && { maxRowGroupRows: params.maxRowGroupRows }),
    // Nothing published may name a folder of the build machine (issue #10).
    ...(config && { localPaths: [config.workDir, dirname(config.file)] }),
    checkCard: cardChecked
      ? async (cardText, data) => {
          const inputs = await loadCardInputs({ path: inputsPath, config: config! });
          return checkCard({ cardText, inputs: { ...inputs, data } });
        }
      : undefined,
  });
  if (!config?.clustering.overrides) return { ...result, cardChecked };
  const split = config.release.split;
  if (!result.splits.some((s) => s.split === split)) return { ...result, cardChecked, overrides: { checked: false, skipped: `the release has no split ${split}` } };
  const overrides = await checkReleaseOverrides({ folder, config, split, ...(params.overrides && { overrides: params.overrides }) });
  result.problems.push(...overrides.problems);
  if (overrides.checked) result.checks.push("cluster_id against clustering.overrides");
  return { ...result, cardChecked, overrides: { checked: overrides.checked, ...(overrides.skipped && { skipped: overrides.skipped }) } };
}
