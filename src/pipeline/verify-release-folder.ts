/**
 * `verify` of a release folder as the command does it: every shard re-read by DuckDB (schema,
 * metadata, counts, page index) and, given the config and card-inputs.json, every generated number
 * of the card. The publish step runs it before anything is sent.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReleaseConfig } from "../config/index.ts";
import { checkCard, loadCardInputs } from "../card/index.ts";
import { verifyRelease, type VerifyReleaseResult } from "../release/index.ts";

export interface VerifyReleaseFolderParams {
  folder: string;
  /** With a config (and the folder's card-inputs.json), the card's numbers are checked too. */
  config?: ReleaseConfig;
  maxRowGroupRows?: number;
}

export async function verifyReleaseFolder(params: VerifyReleaseFolderParams): Promise<VerifyReleaseResult & { cardChecked: boolean }> {
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
  return { ...result, cardChecked };
}
