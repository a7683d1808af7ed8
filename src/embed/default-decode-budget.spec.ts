import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDecodeBudget } from "./default-decode-budget.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

test("the default budget is 1/16 of memory, between 64 MiB and 512 MiB", () => {
  assert.equal(defaultDecodeBudget({ memoryBytes: 64 * GiB }), 512 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 8 * GiB }), 512 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 4 * GiB }), 256 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 512 * MiB }), 64 * MiB);
  const machine = defaultDecodeBudget();
  assert.ok(machine >= 64 * MiB && machine <= 512 * MiB, `${machine}`);
});
