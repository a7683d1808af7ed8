import assert from "node:assert/strict";
import { test } from "node:test";
import { wrapBlock } from "./generated-blocks.ts";
import { diffCards } from "./diff-cards.ts";

const card = (rows: number, summary: string, note = "Hand-written note.\n") =>
  `---\ndataset_info:\n  splits:\n  - name: train\n    num_examples: ${rows}\n---\n# Faces\n\n${wrapBlock("summary", summary)}\n\n${note}\n${wrapBlock("provenance", "built\n")}\n`;

test("changed generated blocks and header rows are named; hand-written text is told apart", () => {
  const diff = diffCards({ previous: card(32, "32 rows\n"), current: card(40, "40 rows\n"), split: "train" });
  assert.deepEqual(diff, { changed: true, header: true, blocks: ["summary"], handWritten: false, numExamples: { previous: 32, current: 40 } });
  const edited = diffCards({ previous: card(40, "40 rows\n", "Old note.\n"), current: card(40, "40 rows\n"), split: "train" });
  assert.deepEqual([edited.header, edited.blocks, edited.handWritten], [false, [], true]);
});

test("the same card is unchanged; no previous card means everything is new", () => {
  assert.equal(diffCards({ previous: card(3, "x\n"), current: card(3, "x\n"), split: "train" }).changed, false);
  const first = diffCards({ previous: undefined, current: card(3, "x\n"), split: "train" });
  assert.deepEqual([first.changed, first.blocks, first.numExamples], [true, ["summary", "provenance"], { previous: null, current: 3 }]);
});
