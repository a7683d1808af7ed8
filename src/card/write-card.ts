/**
 * Writes the card of a release folder: `README.md` and the SVG plots under `assets/`.
 */
import { join } from "node:path";
import { releaseCounts } from "./card-context.ts";
import type { CardInputs } from "./card-inputs.ts";
import { renderCard } from "./render-card.ts";
import { renderPlots } from "./render-plots.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";

export interface WriteCardParams {
  inputs: CardInputs;
  /** Release folder; `README.md` and `assets/` are written into it. */
  outDir: string;
  /** Text of an existing card to merge into (hand-written sections and unknown YAML keys are kept). */
  existingCard?: string;
  /** Where `existingCard` came from, for messages. */
  existingName?: string;
  /** Template folder; default the package's `dataset-card/`. */
  templatesDir?: string;
}

export interface WriteCardResult {
  /** Absolute path of the written `README.md`. */
  readmePath: string;
  /** Absolute paths of the written plot files. */
  assets: string[];
}

export async function writeCard(params: WriteCardParams): Promise<WriteCardResult> {
  const text = renderCard({
    inputs: params.inputs,
    ...(params.existingCard !== undefined && { existingCard: params.existingCard }),
    ...(params.existingName !== undefined && { existingName: params.existingName }),
    ...(params.templatesDir !== undefined && { templatesDir: params.templatesDir }),
  });
  const plots = await renderPlots(params.inputs.clusterStats, releaseCounts(params.inputs).sizeDistribution);
  const assets: string[] = [];
  for (const plot of plots) {
    const path = join(params.outDir, ...plot.path.split("/"));
    await writeFileAtomic(path, plot.svg);
    assets.push(path);
  }
  const readmePath = join(params.outDir, "README.md");
  await writeFileAtomic(readmePath, text);
  return { readmePath, assets };
}
