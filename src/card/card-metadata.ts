/**
 * The card's YAML header: the keys `push_to_hub` writes (`dataset_info`, `configs`) with the
 * release's real sizes, plus the card keys from the config and the computed ones
 * (../shared/docs/hf-parquet-and-card.md, "README.md (dataset card) YAML header").
 *
 * Merging into an existing header goes through the `yaml` Document API so unknown keys, their
 * order and their comments survive; only the keys listed in `COMPUTED_KEYS` (always) and the
 * config's card keys (when the config sets them) are replaced, each in place.
 */
import { Document, isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import type { ToStringOptions } from "yaml";
import { UsageError } from "../common/errors.ts";
import type { HfFeature, ReleaseDataInfo } from "../release/index.ts";
import type { CardInputs } from "./card-inputs.ts";
import { sizeCategory } from "./size-category.ts";

/** The config this tool writes, as `push_to_hub` names a single-config dataset. */
export const CONFIG_NAME = "default";

/** Keys recomputed from the data on every render, whatever the existing card says. */
export const COMPUTED_KEYS = ["size_categories", "source_datasets", "dataset_info", "configs"] as const;

// PyYAML's layout as huggingface_hub dumps cards: sequences not indented under their key, '0' keys
// single-quoted.
const YAML_OUTPUT: ToStringOptions = { indentSeq: false, singleQuote: true, lineWidth: 0 };

/** A `datasets` feature in the card's YAML form (`Features._to_yaml_list`). */
function featureYaml(name: string, feature: HfFeature): Record<string, unknown> {
  switch (feature._type) {
    case "Image":
      return { name, dtype: "image" };
    case "Value":
      return { name, dtype: feature.dtype };
    case "ClassLabel":
      // Keys are the label ids as strings, in id order: `{'0': female, '1': male}`.
      return { name, dtype: { class_label: { names: new Map(feature.names.map((label, i) => [String(i), label])) } } };
  }
}

function integer(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

/** `dataset_info` for the release's one config (no `config_name`, as push_to_hub writes a lone default config). */
export function datasetInfoYaml(data: ReleaseDataInfo): Record<string, unknown> {
  return {
    features: data.features.map(([name, feature]) => featureYaml(name, feature)),
    splits: [{ name: data.split, num_bytes: integer(data.numBytes, "num_bytes"), num_examples: integer(data.numExamples, "num_examples") }],
    download_size: integer(data.downloadSize, "download_size"),
    dataset_size: integer(data.datasetSize, "dataset_size"),
  };
}

/** The `configs` entry for the release: every shard of the split through one glob. */
export function configEntryYaml(data: ReleaseDataInfo): Record<string, unknown> {
  return { config_name: CONFIG_NAME, data_files: [{ split: data.split, path: `data/${data.split}-*` }] };
}

/**
 * The header keys this tool writes, in the order a fresh card lists them. Keys the config leaves
 * unset are absent (a merge then keeps what the existing card says).
 */
export function cardMetadata(inputs: CardInputs): Map<string, unknown> {
  const card = inputs.config.release.card;
  const where = `${inputs.config.file}: release.card`;
  if (card.license === "other" && !(card.licenseName && card.licenseLink)) {
    // The Hub rejects `license: other` without a name and a link to the text.
    throw new UsageError(`${where}.license is "other": set release.card.license_name and release.card.license_link`);
  }
  const keys = new Map<string, unknown>();
  if (card.prettyName) keys.set("pretty_name", card.prettyName);
  if (card.license) keys.set("license", card.license);
  if (card.licenseName) keys.set("license_name", card.licenseName);
  if (card.licenseLink) keys.set("license_link", card.licenseLink);
  if (card.language?.length) keys.set("language", card.language);
  if (card.taskCategories?.length) keys.set("task_categories", card.taskCategories);
  if (card.tags?.length) keys.set("tags", card.tags);
  keys.set("size_categories", [sizeCategory(inputs.data.numExamples)]);
  if (inputs.source.repo) keys.set("source_datasets", [inputs.source.repo]);
  // Gated access (release.gated): the request form as the Hub documents it in the card's header;
  // the repo setting itself (auto/manual approval) is applied by the publish step.
  const gated = inputs.config.release.gated;
  if (gated?.prompt) keys.set("extra_gated_prompt", gated.prompt);
  if (gated?.fields && Object.keys(gated.fields).length > 0) keys.set("extra_gated_fields", { ...gated.fields });
  keys.set("dataset_info", datasetInfoYaml(inputs.data));
  keys.set("configs", [configEntryYaml(inputs.data)]);
  return keys;
}

/** Keys a card gets only when it has none yet: the config's name stands in for an unset pretty_name. */
export function cardDefaults(inputs: CardInputs): Map<string, unknown> {
  return new Map([["pretty_name", inputs.config.name]]);
}

/** Index of the item of a sequence of maps whose `config_name` is ours (absent counts as default). */
function defaultConfigIndex(seq: YAMLSeq): number {
  return seq.items.findIndex((item) => isMap(item) && (item.get("config_name") ?? CONFIG_NAME) === CONFIG_NAME);
}

/**
 * Renders the header: `existingYaml` (the text between the `---` lines of an existing card) with
 * our keys replaced in place and missing ones appended, or a fresh header when there is none.
 * `dataset_info` and `configs` that list several configs keep the other configs' entries, as a
 * `push_to_hub` of one config does.
 */
export function renderCardHeader(params: {
  metadata: Map<string, unknown>;
  /** Keys set only where the header lacks them (after `metadata`: they never override it). */
  defaults?: Map<string, unknown>;
  existingYaml?: string;
  where?: string;
}): string {
  const doc = params.existingYaml === undefined ? new Document(new YAMLMap()) : parseDocument(params.existingYaml);
  if (doc.errors.length > 0) {
    throw new UsageError(`${params.where ?? "existing card"}: YAML header does not parse: ${doc.errors[0]!.message}`);
  }
  if (doc.contents === null) doc.contents = new YAMLMap(); // an empty header
  if (!isMap(doc.contents)) throw new UsageError(`${params.where ?? "existing card"}: YAML header is not a mapping`);
  const root = doc.contents;

  // A fresh header lists the defaults first (pretty_name leads a card), a merge appends them.
  const defaults = [...(params.defaults ?? [])].filter(([key]) => !params.metadata.has(key) && !root.has(key));
  if (params.existingYaml === undefined) for (const [key, value] of defaults) root.set(key, doc.createNode(value));
  for (const [key, value] of params.metadata) {
    const current = root.get(key, true);
    if ((key === "configs" || key === "dataset_info") && isSeq(current)) {
      // Several configs: replace (or add) only ours.
      const entry = doc.createNode(key === "dataset_info" ? { config_name: CONFIG_NAME, ...(value as object) } : (value as unknown[])[0]);
      const index = defaultConfigIndex(current);
      if (index >= 0) current.items[index] = entry;
      else current.items.push(entry);
      continue;
    }
    root.set(key, doc.createNode(value));
  }
  if (params.existingYaml !== undefined) for (const [key, value] of defaults) root.set(key, doc.createNode(value));
  return doc.toString(YAML_OUTPUT);
}

/** Parses a header as plain data (for comparisons); undefined for an absent or broken header. */
export function parseCardHeader(yamlText: string | undefined): Record<string, unknown> | undefined {
  if (yamlText === undefined) return undefined;
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) return undefined;
  const value: unknown = doc.toJS();
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
