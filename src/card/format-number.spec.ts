import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes, formatDecimal, formatInteger, formatPercent } from "./format-number.ts";

test("integers get thousands separators without ICU", () => {
  assert.equal(formatInteger(0), "0");
  assert.equal(formatInteger(999), "999");
  assert.equal(formatInteger(27_996), "27,996");
  assert.equal(formatInteger(1_234_567_890), "1,234,567,890");
  assert.equal(formatInteger(-9683), "-9,683");
});

test("decimals, percentages and byte sizes", () => {
  assert.equal(formatDecimal(0.65, 3), "0.650");
  assert.equal(formatDecimal(-0.0001, 3), "0.000");
  assert.equal(formatPercent(0.800586), "80.1%");
  assert.equal(formatBytes(17), "17 B");
  assert.equal(formatBytes(512_000), "512 kB");
  assert.equal(formatBytes(800_876_124), "801 MB");
  assert.equal(formatBytes(1_234_000_000), "1.23 GB");
  assert.equal(formatBytes(12_340_000_000), "12.3 GB");
});
