import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor } from "onnxruntime-node";
import { anchorsPerLocation, groupLevels } from "./detector-outputs.ts";

const tensor = (rows: number, cols: number, fill: number, batched = true) =>
  new Tensor("float32", new Float32Array(rows * cols).fill(fill), batched ? [1, rows, cols] : [rows, cols]);

test("named outputs (score_8 ...) are grouped by the stride in their name", () => {
  const names = ["score_8", "score_16", "bbox_8", "bbox_16", "kps_8", "kps_16"];
  const outputs = {
    score_8: tensor(200, 1, 1), score_16: tensor(50, 1, 2),
    bbox_8: tensor(200, 4, 3), bbox_16: tensor(50, 4, 4),
    kps_8: tensor(200, 10, 5), kps_16: tensor(50, 10, 6),
  };
  const levels = groupLevels(outputs, names, ["score", "bbox", "kps"]);
  assert.deepEqual(levels.map((l) => [l.stride, l.count]), [[8, 200], [16, 50]]);
  assert.equal(levels[1]!.tensors.kps![0], 6);
  // 200 candidates on an 80/8 x 80/8 grid: 2 anchors per location.
  assert.deepEqual(anchorsPerLocation(levels[0]!, 80, 80), { cols: 10, anchors: 2 });
});

test("unnamed outputs (SCRFD-10G style '448', '471' ...) follow InsightFace's positional order", () => {
  // 2-D [N, C] outputs: scores for strides 8, 16, 32, then boxes, then keypoints.
  const counts = [800, 200, 50];
  const names = Array.from({ length: 9 }, (_, i) => String(448 + i));
  const outputs = Object.fromEntries(names.map((n, i) => [n, tensor(counts[i % 3]!, [1, 4, 10][Math.floor(i / 3)]!, i, false)]));
  const levels = groupLevels(outputs, names, ["score", "bbox", "kps"]);
  assert.deepEqual(levels.map((l) => [l.stride, l.count]), [[8, 800], [16, 200], [32, 50]]);
  assert.equal(levels[2]!.tensors.bbox![0], 5);
  assert.equal(levels[0]!.tensors.kps![0], 6);
  assert.deepEqual(anchorsPerLocation(levels[2]!, 160, 160), { cols: 5, anchors: 2 });
});

test("counts that do not fit the grid, or a missing role, are errors", () => {
  const outputs = { score_8: tensor(7, 1, 0), bbox_8: tensor(7, 4, 0) };
  assert.throws(() => groupLevels(outputs, ["score_8", "bbox_8"], ["score", "bbox", "kps"]), /kps at stride 8 is missing/);
  const [level] = groupLevels(outputs, ["score_8", "bbox_8"], ["score", "bbox"]);
  assert.throws(() => anchorsPerLocation(level!, 64, 64), /7 candidates do not fit a 8x8 grid/);
  assert.throws(() => groupLevels({}, ["a", "b"], ["score", "bbox", "kps"]), /2 outputs, expected a multiple of 3/);
});
