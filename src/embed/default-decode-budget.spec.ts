import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDecodeBudget } from "./default-decode-budget.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

test("the default budget is 48 MiB per core, at least 96 MiB, at most 1/16 of memory", () => {
  assert.equal(defaultDecodeBudget({ memoryBytes: 64 * GiB, cores: 2 }), 96 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 64 * GiB, cores: 1 }), 96 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 64 * GiB, cores: 16 }), 768 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 1 * GiB, cores: 16 }), 64 * MiB);
  assert.equal(defaultDecodeBudget({ memoryBytes: 256 * MiB, cores: 2 }), 16 * MiB);
  const machine = defaultDecodeBudget();
  assert.ok(machine >= MiB && machine <= 512 * MiB, `${machine}`);
});
