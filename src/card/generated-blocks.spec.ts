import assert from "node:assert/strict";
import { test } from "node:test";
import { findBlocks, replaceBlocks, wrapBlock } from "./generated-blocks.ts";

const text = [
  "# Title",
  "hand-written intro",
  wrapBlock("summary", "old summary\n"),
  "between, by hand",
  wrapBlock("custom-thing", "kept\n"),
  wrapBlock("provenance", "old provenance"),
  "tail",
].join("\n");

test("blocks are found by their markers, in order", () => {
  const blocks = findBlocks(text);
  assert.deepEqual(blocks.map((b) => [b.name, b.content]), [
    ["summary", "old summary\n"],
    ["custom-thing", "kept\n"],
    ["provenance", "old provenance\n"],
  ]);
});

test("replacing blocks keeps everything outside them byte for byte and reports missing ones", () => {
  const result = replaceBlocks(text, new Map([["summary", "new summary\n"], ["provenance", "new provenance\n"], ["labels", "x\n"]]));
  assert.deepEqual(result.missing, ["labels"]);
  assert.equal(
    result.text,
    [
      "# Title",
      "hand-written intro",
      "<!-- idclusters:begin summary -->\nnew summary\n<!-- idclusters:end summary -->",
      "between, by hand",
      "<!-- idclusters:begin custom-thing -->\nkept\n<!-- idclusters:end custom-thing -->",
      "<!-- idclusters:begin provenance -->\nnew provenance\n<!-- idclusters:end provenance -->",
      "tail",
    ].join("\n"),
  );
});

test("a begin marker without its end is not a block", () => {
  assert.deepEqual(findBlocks("<!-- idclusters:begin summary -->\ntext\n<!-- idclusters:end labels -->\n"), []);
});
