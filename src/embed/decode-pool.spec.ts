import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { ImageDecodeError } from "../source/index.ts";
import { DecodePool } from "./decode-pool.ts";

test("worker threads decode concurrently and each answer reaches its own request", async () => {
  const pool = new DecodePool({ workers: 2 });
  try {
    const sizes = Array.from({ length: 12 }, (_, i) => [8 + i * 3, 5 + i] as const);
    const inputs = await Promise.all(
      sizes.map(([width, height], i) =>
        sharp({ create: { width, height, channels: 3, background: { r: i * 20, g: 0, b: 0 } } }).png().toBuffer(),
      ),
    );
    const bad = new TextEncoder().encode("nope");
    const [images, failure] = await Promise.all([
      Promise.all(inputs.map((bytes) => pool.decode(bytes))),
      pool.decode(bad).catch((e: unknown) => e),
    ]);
    images.forEach((image, i) => {
      assert.deepEqual([image.width, image.height], sizes[i]);
      assert.equal(image.data.length, image.width * image.height * 3);
      assert.equal(image.data[0], i * 20);
    });
    assert.ok(failure instanceof ImageDecodeError);
    assert.match(failure.reason, /not an image/);
    // The caller's bytes are untouched (the worker got a copy).
    assert.equal(inputs[0]![1], 0x50);
  } finally {
    await pool.close();
  }
});
