import assert from "node:assert/strict";
import { test } from "node:test";
import { previousReleaseOf } from "./identities-step.ts";
import type { TargetState } from "./read-target.ts";

const present = (files: string[], cardInputs?: { buildKey?: string; previousCommit?: string }): TargetState => ({
  status: "present",
  head: "h".repeat(40),
  files: Object.fromEntries(files.map((f) => [f, "x"])),
  ...(cardInputs && { cardInputs }),
});

test("the previous release: none, the head, or our own head's own previous release", () => {
  assert.equal(previousReleaseOf({ status: "missing" }, "k", "train"), null);
  assert.equal(previousReleaseOf({ status: "unreachable", reason: "x" }, "k", "train"), null);
  assert.equal(previousReleaseOf(present([".gitattributes"]), "k", "train"), null, "an empty repo is not a previous release");
  assert.equal(previousReleaseOf(present([".gitattributes", "README.md", "data/test-00000-of-00001.parquet"]), "k", "train"), null, "another split's data is not ours");
  assert.equal(previousReleaseOf(present(["data/train-00000-of-00001.parquet"]), "k", "train"), "h".repeat(40));
  assert.equal(previousReleaseOf(present(["data/train-00000-of-00001.parquet"], { buildKey: "other" }), "k", "train"), "h".repeat(40));
  assert.equal(previousReleaseOf(present(["data/train-00000-of-00001.parquet"], { buildKey: "k", previousCommit: "p".repeat(40) }), "k", "train"), "p".repeat(40));
  assert.equal(previousReleaseOf(present(["data/train-00000-of-00001.parquet"], { buildKey: "k" }), "k", "train"), null, "our own first release");
});
