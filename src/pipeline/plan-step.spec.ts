import assert from "node:assert/strict";
import { test } from "node:test";
import picomatch from "picomatch";
import { ownedRemoteGlobs } from "./plan-step.ts";

test("a release owns its split's shards and the card's plots, nothing else", () => {
  const owned = picomatch(ownedRemoteGlobs("train"), { dot: true });
  for (const path of ["data/train-00000-of-00001.parquet", "data/train-00012-of-00040.parquet", "assets/nn_similarity.svg", "assets/cluster_sizes.svg"]) {
    assert.ok(owned(path), path);
  }
  for (const path of [
    "data/test-00000-of-00001.parquet",
    "data/train_extra-00000-of-00001.parquet",
    "data/train-00000-of-00001.parquet.bak",
    "data/train.parquet",
    "data/pairs/train-00000-of-00001.parquet",
    "assets/diagram.svg",
    "README.md",
    ".gitattributes",
  ]) {
    assert.ok(!owned(path), path);
  }
});
