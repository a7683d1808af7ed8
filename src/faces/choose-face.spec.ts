import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseFace, chooseFaceIndex, faceChoiceScore } from "./choose-face.ts";
import type { Detection } from "./types.ts";

const face = (x1: number, y1: number, x2: number, y2: number, score = 0.9): Detection => ({
  score,
  box: [x1, y1, x2, y2],
  landmarks: [],
});

test("score is area * (1 - centre offset / diagonal)^2", () => {
  // 100x100 box centred at (150, 100) in a 400x200 image: offset 50 / hypot(400, 200).
  const s = faceChoiceScore(face(100, 50, 200, 150), 400, 200);
  const expected = 10000 * (1 - 50 / Math.hypot(400, 200)) ** 2;
  assert.ok(Math.abs(s - expected) < 1e-9);
  // A centred box has no penalty.
  assert.equal(faceChoiceScore(face(150, 50, 250, 150), 400, 200), 10000);
});

test("a centred face beats a slightly larger face in the corner", () => {
  const corner = face(0, 0, 110, 110, 0.99); // area 12100, offset ~0.35 of the diagonal
  const centre = face(150, 150, 250, 250, 0.6); // area 10000, offset 0
  assert.equal(chooseFaceIndex([corner, centre], 400, 400), 1);
  assert.equal(chooseFace([corner, centre], 400, 400), centre);
});

test("a much larger face wins even off centre", () => {
  const big = face(0, 0, 300, 300);
  const small = face(180, 180, 220, 220);
  assert.equal(chooseFace([small, big], 400, 400), big);
});

test("no detections: nothing chosen", () => {
  assert.equal(chooseFace([], 100, 100), undefined);
  assert.equal(chooseFaceIndex([], 100, 100), -1);
});
