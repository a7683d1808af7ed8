import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHalf, toHalf } from "./float16.ts";

test("known half-precision encodings", () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(0.5), 0x3800);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(1e6), 0x7c00); // overflow -> infinity
  assert.equal(toHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(toHalf(0), 0);
  assert.equal(fromHalf(0x3555), 0.333251953125);
  assert.ok(Number.isNaN(fromHalf(0x7e00)));
});

test("round trip stays within half precision and rounds to nearest even", () => {
  for (const v of [-1.7, -0.0123, 0.1, 0.99951171875, 3.14159, 127.5, 1000.25]) {
    const back = fromHalf(toHalf(v));
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 2 ** -11, `${v} -> ${back}`);
  }
  // 1 + 2^-11 is exactly between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00);
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
});
