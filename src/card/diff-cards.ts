/**
 * What changes in the dataset card between the target's head and our release, for the plan:
 * whether the YAML header changed, which generated blocks (`<!-- idclusters:begin NAME -->`)
 * changed, whether anything outside them did (hand-written text), and the header's
 * `dataset_info.splits[*].num_examples` on both sides (hf-parquet-and-card.md, "dataset_info").
 */
import { parse as parseYaml } from "yaml";
import { splitCard } from "./card-front-matter.ts";
import { findBlocks } from "./generated-blocks.ts";

export interface CardDiff {
  changed: boolean;
  /** The YAML header differs. */
  header: boolean;
  /** Generated blocks added, removed or changed, in our card's order then theirs. */
  blocks: string[];
  /** Text outside the generated blocks differs. */
  handWritten: boolean;
  /** `num_examples` of `split` in each header; null when absent. */
  numExamples: { previous: number | null; current: number | null };
}

function numExamplesOf(yaml: string | undefined, split: string): number | null {
  if (yaml === undefined) return null;
  try {
    const info = (parseYaml(yaml) as { dataset_info?: unknown } | null)?.dataset_info;
    // A multi-config card lists one dataset_info per config; the first one that has the split wins.
    for (const entry of Array.isArray(info) ? info : [info]) {
      const splits = (entry as { splits?: { name?: string; num_examples?: unknown }[] } | undefined)?.splits ?? [];
      const found = splits.find((s) => s.name === split);
      if (found && typeof found.num_examples === "number") return found.num_examples;
    }
  } catch {
    // An unreadable header counts as no number; the header diff still shows it changed.
  }
  return null;
}

function outsideBlocks(body: string): string {
  let out = "";
  let at = 0;
  for (const block of findBlocks(body)) {
    out += body.slice(at, block.start) + `<${block.name}>`;
    at = block.end;
  }
  return out + body.slice(at);
}

export function diffCards(params: { previous: string | undefined; current: string; split: string }): CardDiff {
  const current = splitCard(params.current);
  const numExamples = { previous: null as number | null, current: numExamplesOf(current.yaml, params.split) };
  if (params.previous === undefined) {
    return { changed: true, header: true, blocks: findBlocks(current.body).map((b) => b.name), handWritten: true, numExamples };
  }
  const previous = splitCard(params.previous);
  numExamples.previous = numExamplesOf(previous.yaml, params.split);
  const theirs = new Map(findBlocks(previous.body).map((b) => [b.name, b.content]));
  const ours = new Map(findBlocks(current.body).map((b) => [b.name, b.content]));
  const blocks = [...ours.keys(), ...[...theirs.keys()].filter((name) => !ours.has(name))].filter((name) => ours.get(name) !== theirs.get(name));
  return {
    changed: params.previous !== params.current,
    header: previous.yaml !== current.yaml,
    blocks,
    handWritten: outsideBlocks(previous.body) !== outsideBlocks(current.body),
    numExamples,
  };
}
