import { test } from "node:test";
import assert from "node:assert/strict";
import { nonMaxSuppression } from "./nms.ts";

test("suppresses overlaps above the threshold, keeps disjoint boxes, in score order", () => {
  const boxes = [
    [0, 0, 10, 10],
    [1, 1, 11, 11], // IoU with the first 81/119 = 0.68
    [20, 20, 30, 30],
    [5, 0, 15, 10], // IoU with the first 50/150 = 0.33
  ];
  assert.deepEqual(nonMaxSuppression(boxes, 0.4, false), [0, 2, 3]);
  assert.deepEqual(nonMaxSuppression(boxes, 0.3, false), [0, 2]);
  assert.deepEqual(nonMaxSuppression(boxes, 0.7, false), [0, 1, 2, 3]);
});

test("InsightFace's +1 pixel areas change borderline decisions", () => {
  // Without +1: inter 5x10 = 50, union 150 -> 0.333; with +1: 6x11 / (121 + 121 - 66) = 0.375.
  const boxes = [
    [0, 0, 10, 10],
    [5, 0, 15, 10],
  ];
  assert.deepEqual(nonMaxSuppression(boxes, 0.35, false), [0, 1]);
  assert.deepEqual(nonMaxSuppression(boxes, 0.35, true), [0]);
});
