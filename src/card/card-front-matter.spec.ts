import assert from "node:assert/strict";
import { test } from "node:test";
import { joinCard, splitCard } from "./card-front-matter.ts";

test("header and body split like huggingface_hub's RepoCard, body kept byte for byte", () => {
  assert.deepEqual(splitCard("---\nlicense: mit\n---\n# Title\n\ntext\n"), { yaml: "license: mit", body: "# Title\n\ntext\n" });
  assert.deepEqual(splitCard("---\r\nlicense: mit\r\n---\r\nbody"), { yaml: "license: mit", body: "body" });
  assert.deepEqual(splitCard("\n---\na: 1\nb: 2\n---"), { yaml: "a: 1\nb: 2", body: "" });
  // A horizontal rule later in the body is not a header.
  assert.deepEqual(splitCard("# Title\n---\ntext\n"), { yaml: undefined, body: "# Title\n---\ntext\n" });
});

test("joining puts the header between --- lines", () => {
  assert.equal(joinCard("a: 1\n", "# T\n"), "---\na: 1\n---\n# T\n");
  assert.equal(joinCard("a: 1", "# T\n"), "---\na: 1\n---\n# T\n");
  const card = "---\nlicense: mit\n---\n# Title\n";
  const parts = splitCard(card);
  assert.equal(joinCard(parts.yaml!, parts.body), card);
});
