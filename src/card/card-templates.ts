/**
 * The Jinja templates of `dataset-card/`: `README.md.jinja` (the whole card, used when there is no
 * existing card) and `blocks/<name>.md.jinja` (the generated blocks). @huggingface/jinja has no
 * `include`, so blocks are rendered one by one and handed to the README template as strings.
 * Templates only ever see the context object: the engine has no file, import or environment access.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";

/** Generated blocks in the order a fresh card shows them (also the order missing ones are appended in). */
export const BLOCK_NAMES = ["summary", "structure", "dropped-images", "labels", "nn-analysis", "cluster-sizes", "provenance"] as const;
export type BlockName = (typeof BLOCK_NAMES)[number];

export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL("../../dataset-card/", import.meta.url));

export interface CardTemplates {
  readme: Template;
  blocks: Record<BlockName, Template>;
}

const cache = new Map<string, CardTemplates>();

/** Parses the templates of `dir` (default: the package's `dataset-card/`), once per folder. */
export function loadCardTemplates(dir: string = DEFAULT_TEMPLATES_DIR): CardTemplates {
  const cached = cache.get(dir);
  if (cached) return cached;
  const parse = (relative: string) => {
    const file = join(dir, relative);
    try {
      return new Template(readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`card template ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const templates: CardTemplates = {
    readme: parse("README.md.jinja"),
    blocks: Object.fromEntries(BLOCK_NAMES.map((name) => [name, parse(`blocks/${name}.md.jinja`)])) as Record<BlockName, Template>,
  };
  cache.set(dir, templates);
  return templates;
}
