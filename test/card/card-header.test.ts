/**
 * The card's YAML header: the exact push_to_hub layout for a fresh card, and a merge that keeps
 * unknown keys, their order and comments while replacing dataset_info, configs and our keys.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { parseDocument } from "yaml";
import { cardMetadata, parseCardHeader, renderCard, splitCard } from "../../src/card/index.ts";
import { renderCardHeader } from "../../src/card/card-metadata.ts";
import { UsageError } from "../../src/common/errors.ts";
import { celebaInputs } from "./card-fixture.ts";

const FRESH_HEADER = `pretty_name: CelebA-HQ 512 with identity clusters
license: other
license_name: celeba-hq
license_link: https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html
task_categories:
- image-classification
- image-feature-extraction
tags:
- faces
- identity
- clustering
- celeba-hq
size_categories:
- 10K<n<100K
source_datasets:
- jxie/celeba-hq
dataset_info:
  features:
  - name: image
    dtype: image
  - name: label
    dtype:
      class_label:
        names:
          '0': female
          '1': male
  - name: file_name
    dtype: string
  - name: cluster_id
    dtype: int64
  - name: cluster_size
    dtype: int64
  splits:
  - name: train
    num_bytes: 801234567
    num_examples: 27996
  download_size: 800876124
  dataset_size: 801234567
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
`;

test("a fresh card's header is exactly what push_to_hub writes, plus our keys", () => {
  const { yaml, body } = splitCard(renderCard({ inputs: celebaInputs() }));
  assert.equal(yaml + "\n", FRESH_HEADER);
  assert.match(body, /^# CelebA-HQ 512 with identity clusters\n/);
});

test("PyYAML reads the header with integer sizes and string ClassLabel keys", (t) => {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import yaml"]);
  if (probe.error || probe.status !== 0) return t.skip("/usr/bin/python3 with PyYAML not available");
  const script = `
import sys, yaml, json
d = yaml.safe_load(sys.stdin.read())
info = d["dataset_info"]
assert type(info["splits"][0]["num_bytes"]) is int and type(info["download_size"]) is int
print(json.dumps({"names": info["features"][1]["dtype"]["class_label"]["names"], "examples": info["splits"][0]["num_examples"], "size": d["size_categories"]}))
`;
  const run = spawnSync("/usr/bin/python3", ["-c", script], { input: FRESH_HEADER, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { names: { "0": "female", "1": "male" }, examples: 27996, size: ["10K<n<100K"] });
});

const EXISTING = `# written by hand
annotations_creators:
- machine-generated
license: mit # will be replaced by the config's licence, in place
my_custom_key:
  reviewed_by: alice # keep me
  rounds: 3
dataset_info:
  features:
  - name: image
    dtype: image
  splits:
  - name: train
    num_bytes: 1
    num_examples: 1
  download_size: 1
  dataset_size: 1
configs:
- config_name: default
  data_files:
  - split: train
    path: data/old-*
- config_name: extra
  data_files: extra/*.parquet
viewer: true
`;

test("merging keeps unknown keys, their order and comments, and replaces only ours", () => {
  const merged = renderCardHeader({ metadata: cardMetadata(celebaInputs()), existingYaml: EXISTING });
  const doc = parseDocument(merged);
  const keys = (doc.toJS() as Record<string, unknown>);
  assert.deepEqual(Object.keys(keys), [
    "annotations_creators",
    "license",
    "my_custom_key",
    "dataset_info",
    "configs",
    "viewer",
    // Keys the existing card lacked come after its own, in our order.
    "pretty_name",
    "license_name",
    "license_link",
    "task_categories",
    "tags",
    "size_categories",
    "source_datasets",
  ]);
  assert.match(merged, /^# written by hand\n/);
  assert.match(merged, /my_custom_key:\n  reviewed_by: alice # keep me\n  rounds: 3\n/);
  assert.equal(keys.license, "other");
  assert.deepEqual(keys.annotations_creators, ["machine-generated"]);
  assert.equal(keys.viewer, true);
  const info = keys.dataset_info as { splits: { num_examples: number }[]; download_size: number };
  assert.equal(info.splits[0]!.num_examples, 27996);
  assert.equal(info.download_size, 800876124);
  // push_to_hub replaces only its own config's entry.
  assert.deepEqual(keys.configs, [
    { config_name: "default", data_files: [{ split: "train", path: "data/train-*" }] },
    { config_name: "extra", data_files: "extra/*.parquet" },
  ]);
});

test("pretty_name: the config's card value replaces the card's, the config name only fills a gap", () => {
  const inputs = celebaInputs();
  const named = parseCardHeader(splitCard(renderCard({ inputs, existingCard: "---\npretty_name: Edited by hand\n---\nbody\n" })).yaml);
  assert.equal(named!.pretty_name, "CelebA-HQ 512 with identity clusters");

  inputs.config.release.card = { ...inputs.config.release.card, prettyName: undefined };
  const kept = splitCard(renderCard({ inputs, existingCard: "---\npretty_name: Edited by hand\n---\nbody\n" })).yaml;
  assert.equal(parseCardHeader(kept)!.pretty_name, "Edited by hand");
  const filled = splitCard(renderCard({ inputs, existingCard: "---\nfoo: 1\n---\nbody\n" })).yaml;
  assert.equal(parseCardHeader(filled)!.pretty_name, "celebahq_512_id_clusters");
  const fresh = splitCard(renderCard({ inputs })).yaml!;
  assert.match(fresh, /^pretty_name: celebahq_512_id_clusters\nlicense: other\n/);
});

test("a header listing dataset_info per config keeps the other configs' entries", () => {
  const existing = `dataset_info:
- config_name: extra
  features:
  - name: text
    dtype: string
- config_name: default
  splits: []
`;
  const merged = parseCardHeader(renderCardHeader({ metadata: cardMetadata(celebaInputs()), existingYaml: existing }))!;
  const entries = merged.dataset_info as Record<string, unknown>[];
  assert.equal(entries.length, 2);
  assert.equal(entries[0]!.config_name, "extra");
  assert.equal(entries[1]!.config_name, "default");
  assert.equal((entries[1]!.splits as { num_examples: number }[])[0]!.num_examples, 27996);
});

test("license other without a name and a link is a usage error naming the keys", () => {
  const inputs = celebaInputs();
  inputs.config.release.card = { ...inputs.config.release.card, licenseName: undefined, licenseLink: undefined };
  assert.throws(() => cardMetadata(inputs), (error: unknown) => error instanceof UsageError && /license_name/.test(error.message));
});

test("a broken existing header is a usage error, not a silent overwrite", () => {
  assert.throws(
    () => renderCard({ inputs: celebaInputs(), existingCard: "---\nkey: [unclosed\n---\nbody\n", existingName: "old/README.md" }),
    (error: unknown) => error instanceof UsageError && /old\/README\.md/.test(error.message),
  );
});
