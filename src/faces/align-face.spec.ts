import { test } from "node:test";
import assert from "node:assert/strict";
import { alignFace, warpAffine, ARCFACE_TEMPLATE } from "./align-face.ts";
import type { RgbImage } from "../common/image.ts";

function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x % 256;
      data[o + 1] = y % 256;
      data[o + 2] = (x + y) % 256;
    }
  }
  return { data, width, height };
}

test("identity warp copies pixels", () => {
  const img = gradient(20, 10);
  const out = warpAffine(img, [1, 0, 0, 0, 1, 0], 20, 10);
  assert.deepEqual(out.data, img.data);
});

test("integer translation shifts pixels and fills the border with zeros", () => {
  const img = gradient(20, 10);
  const out = warpAffine(img, [1, 0, 3, 0, 1, 2], 20, 10);
  // dst(x, y) = src(x - 3, y - 2)
  assert.deepEqual([...out.data.subarray((5 * 20 + 7) * 3, (5 * 20 + 7) * 3 + 3)], [4, 3, 7]);
  assert.deepEqual([...out.data.subarray(0, 3)], [0, 0, 0]);
});

test("half-pixel shift averages neighbours (bilinear)", () => {
  const img = gradient(20, 10);
  const out = warpAffine(img, [1, 0, -0.5, 0, 1, 0], 20, 10);
  // dst(4, 0) samples src(4.5, 0): red = (4 + 5) / 2 rounded = 5 (OpenCV rounds halves up in fixed point).
  assert.equal(out.data[4 * 3], 5);
});

test("a face whose keypoints sit on the template is cropped unchanged", () => {
  const img = gradient(112, 112);
  const crop = alignFace(img, ARCFACE_TEMPLATE);
  assert.equal(crop.width, 112);
  assert.equal(crop.height, 112);
  assert.deepEqual(crop.data, img.data);
});
