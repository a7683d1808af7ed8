import { test } from "node:test";
import assert from "node:assert/strict";
import { letterbox } from "./letterbox.ts";

test("fits by the tighter side, top-left, zero padding normalised", () => {
  const image = { data: new Uint8Array(200 * 100 * 3).fill(255), width: 200, height: 100 };
  const { blob, scale } = letterbox(image, { width: 64, height: 64, mean: 127.5, std: 128, bgr: false });
  assert.equal(scale, 32 / 100); // new size 64 x 32, scale = newH / H
  const plane = 64 * 64;
  assert.equal(blob[0], (255 - 127.5) / 128); // image pixel
  assert.equal(blob[31 * 64 + 63], (255 - 127.5) / 128); // last image row
  assert.equal(blob[32 * 64], -127.5 / 128); // first padding row
  assert.equal(blob[2 * plane + 40 * 64 + 10], -127.5 / 128);
});

test("BGR order swaps the first and last planes; fitSize leaves the rest of the blob padded", () => {
  const image = { data: new Uint8Array([10, 20, 30]), width: 1, height: 1 };
  const { blob, scale } = letterbox(image, { width: 8, height: 8, mean: 0, std: 1, bgr: true, fitSize: 4 });
  assert.equal(scale, 4);
  assert.deepEqual([blob[0], blob[64], blob[128]], [30, 20, 10]);
  assert.deepEqual([blob[3 * 8 + 3], blob[4 * 8 + 4], blob[4]], [30, 0, 0]);
});

test("bilinear downscale by 2 averages pixel pairs like cv2.resize INTER_LINEAR", () => {
  const row = [0, 0, 0, 100, 100, 100, 200, 200, 200, 250, 250, 250];
  const image = { data: new Uint8Array([...row, ...row]), width: 4, height: 2 };
  const { blob } = letterbox(image, { width: 2, height: 1, mean: 0, std: 1, bgr: false });
  // cv2.resize(4x2 -> 2x1): src x = 0.5 and 2.5 -> (0+100)/2, (200+250)/2
  assert.deepEqual([blob[0], blob[1]], [50, 225]);
});

test("empty or short images are refused with their size", () => {
  const params = { width: 8, height: 8, mean: 0, std: 1, bgr: false };
  assert.throws(() => letterbox({ data: new Uint8Array(0), width: 0, height: 0 }, params), /0x0 image/);
  assert.throws(() => letterbox({ data: new Uint8Array(5), width: 2, height: 2 }, params), /2x2 image of 5 bytes/);
});
