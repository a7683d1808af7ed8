// The detector's letterbox resize against Debian's cv2.resize (INTER_LINEAR) on the same pixels:
// src/faces/letterbox.ts reproduces OpenCV's fixed-point arithmetic, so almost every value is the
// same byte (a float bilinear rounded to 8 bits differed on ~12% of them), and none by more than 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import type { RgbImage } from "../../src/common/image.ts";
import { letterbox } from "../../src/faces/letterbox.ts";
import { MISSING, decode, fixturesPresent, groupPhotos, labelledFaces } from "./fixtures.ts";
import { NO_PYTHON, opencvPythonAvailable, writeRaw } from "./python-reference.ts";

const RESIZE = `
import json, sys, cv2, numpy as np
for item in json.load(sys.stdin):
    img = np.fromfile(item["raw"], dtype=np.uint8).reshape(item["height"], item["width"], 3)
    cv2.resize(img, (item["newWidth"], item["newHeight"])).tofile(item["raw"] + ".resized")
`;

/** Our letterbox into a fit x fit blob; the fitted image (InsightFace's int() sizes) read back as 8-bit RGB. */
function ourResize(image: RgbImage, fit: number): { data: Uint8Array; width: number; height: number } {
  const ratio = image.height / image.width;
  const width = ratio > 1 ? Math.max(1, Math.trunc(fit / ratio)) : fit;
  const height = ratio > 1 ? fit : Math.max(1, Math.trunc(fit * ratio));
  const { blob } = letterbox(image, { width: fit, height: fit, mean: 0, std: 1, bgr: false });
  const plane = fit * fit;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = blob[c * plane + y * fit + x]!;
  }
  return { data, width, height };
}

test("letterbox resize matches cv2.resize INTER_LINEAR byte for byte on >= 99.5% of values, never off by more than 1", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  if (!opencvPythonAvailable()) return t.skip(NO_PYTHON);
  const inputs = [...labelledFaces().filter((_, i) => i % 4 === 0), ...groupPhotos()];
  const images = await Promise.all(inputs.map((input) => decode(input.path)));
  // Up- and downscales, odd sizes, and an exact 2x (where OpenCV switches to INTER_AREA).
  const cases: { image: RgbImage; fit: number }[] = images.flatMap((image) => [{ image, fit: 256 }, { image, fit: 97 }]);
  cases.push({ image: { data: images[0]!.data.slice(0, 150 * 150 * 3), width: 150, height: 150 }, fit: 75 });
  const ours = cases.map(({ image, fit }) => ourResize(image, fit));
  const { dir, items } = writeRaw(cases.map((c) => c.image));
  try {
    const request = items.map((item, i) => ({ ...item, newWidth: ours[i]!.width, newHeight: ours[i]!.height }));
    const run = spawnSync("/usr/bin/python3", ["-c", RESIZE], { input: JSON.stringify(request), encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    let same = 0;
    let total = 0;
    for (const [i, item] of items.entries()) {
      const theirs = readFileSync(`${item.raw}.resized`);
      const mine = ours[i]!.data;
      assert.equal(theirs.length, mine.length, `case ${i}: size`);
      for (let k = 0; k < mine.length; k++) {
        const d = Math.abs(mine[k]! - theirs[k]!);
        assert.ok(d <= 1, `case ${i}: value ${k} differs by ${d}`);
        if (d === 0) same++;
      }
      total += mine.length;
    }
    t.diagnostic(`${cases.length} resizes, ${total} values, ${(100 * (1 - same / total)).toFixed(3)}% differ by 1`);
    assert.ok(same / total >= 0.995, `only ${((100 * same) / total).toFixed(2)}% identical`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
