/**
 * For `verify`: re-renders what the card computes from the data (the generated blocks and the
 * computed YAML keys) and lists every place where the given card says something else.
 */
import { isDeepStrictEqual } from "node:util";
import { Document, parseDocument } from "yaml";
import type { CardInputs } from "./card-inputs.ts";
import { splitCard } from "./card-front-matter.ts";
import { CONFIG_NAME, cardMetadata, COMPUTED_KEYS, parseCardHeader } from "./card-metadata.ts";
import { BLOCK_NAMES } from "./card-templates.ts";
import { findBlocks } from "./generated-blocks.ts";
import { renderBlocks } from "./render-card.ts";

export interface CheckCardParams {
  /** The card as published (README.md text). */
  cardText: string;
  /** The inputs the card should have been computed from. */
  inputs: CardInputs;
  templatesDir?: string;
}

/** Plain data as it reads back from YAML (Maps become objects), for comparisons. */
function asYamlData(value: unknown): unknown {
  return parseDocument(new Document(value).toString()).toJS();
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "nothing" : text.length > 120 ? text.slice(0, 117) + "..." : text;
}

/** Path of the first difference between two plain values, with both sides. */
function firstDifference(card: unknown, data: unknown, path: string): string {
  if (Array.isArray(card) && Array.isArray(data)) {
    for (let i = 0; i < Math.max(card.length, data.length); i++) {
      if (!isDeepStrictEqual(card[i], data[i])) return firstDifference(card[i], data[i], `${path}[${i}]`);
    }
  } else if (card && data && typeof card === "object" && typeof data === "object" && !Array.isArray(card) && !Array.isArray(data)) {
    const keys = [...new Set([...Object.keys(data), ...Object.keys(card)])];
    for (const key of keys) {
      const a = (card as Record<string, unknown>)[key];
      const b = (data as Record<string, unknown>)[key];
      if (!isDeepStrictEqual(a, b)) return firstDifference(a, b, `${path}.${key}`);
    }
  }
  return `${path}: card has ${describe(card)}, the data gives ${describe(data)}`;
}

/** Our config's entry of a per-config list, or the value itself for a single-config mapping. */
function ourEntry(key: string, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const entry = value.find((item) => item && typeof item === "object" && ((item as Record<string, unknown>).config_name ?? CONFIG_NAME) === CONFIG_NAME);
  if (key === "dataset_info" && entry && typeof entry === "object") {
    const { config_name: _ignored, ...rest } = entry as Record<string, unknown>;
    return rest;
  }
  return entry;
}

/** Mismatches between the card and the data; an empty list means the card is consistent. */
export function checkCard(params: CheckCardParams): string[] {
  const problems: string[] = [];
  const { yaml, body } = splitCard(params.cardText);
  const header = parseCardHeader(yaml);
  if (header === undefined) {
    problems.push(yaml === undefined ? "card has no YAML header" : "card's YAML header does not parse as a mapping");
  } else {
    const expected = cardMetadata(params.inputs);
    for (const key of COMPUTED_KEYS) {
      if (!expected.has(key)) continue;
      const want = asYamlData(key === "configs" ? (expected.get(key) as unknown[])[0] : expected.get(key));
      const have = key === "configs" || key === "dataset_info" ? ourEntry(key, header[key]) : header[key];
      if (!isDeepStrictEqual(have, want)) problems.push(`YAML ${firstDifference(have, want, key)}`);
    }
  }

  const rendered = renderBlocks(params.inputs, params.templatesDir);
  const found = findBlocks(body);
  for (const name of BLOCK_NAMES) {
    const copies = found.filter((b) => b.name === name);
    if (copies.length === 0) {
      problems.push(`block ${name}: missing from the card`);
      continue;
    }
    if (copies.length > 1) problems.push(`block ${name}: appears ${copies.length} times`);
    const want = rendered.get(name)!;
    for (const copy of copies) {
      if (copy.content === want) continue;
      const haveLines = copy.content.split("\n");
      const wantLines = want.split("\n");
      const line = haveLines.findIndex((l, i) => l !== wantLines[i]);
      const at = line < 0 ? wantLines.length - 1 : line;
      problems.push(`block ${name}, line ${at + 1}: card has ${describe(haveLines[at] ?? "")}, the data gives ${describe(wantLines[at] ?? "")}`);
    }
  }
  return problems;
}
