import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateSimilarity } from "./estimate-similarity.ts";
import { ARCFACE_TEMPLATE, alignmentMatrix } from "./align-face.ts";

const apply = (m: number[], [x, y]: readonly [number, number]) => [m[0]! * x + m[1]! * y + m[2]!, m[3]! * x + m[4]! * y + m[5]!];

test("recovers an exact similarity transform", () => {
  const angle = 0.3;
  const scale = 1.7;
  const truth = [scale * Math.cos(angle), -scale * Math.sin(angle), 12.5, scale * Math.sin(angle), scale * Math.cos(angle), -4];
  const src = ARCFACE_TEMPLATE.map((p) => [p[0] * 2 + 3, p[1] * 1.5 - 7] as [number, number]);
  const dst = src.map((p) => apply(truth, p) as [number, number]);
  const m = estimateSimilarity(src, dst);
  m.forEach((v, i) => assert.ok(Math.abs(v - truth[i]!) < 1e-9, `m[${i}] = ${v}, expected ${truth[i]}`));
});

test("matches scikit-image SimilarityTransform.estimate on noisy points", () => {
  // /usr/bin/python3: SimilarityTransform(); estimate(src, ARCFACE_TEMPLATE); params[:2]
  const src: [number, number][] = [[44.2, 44.5], [102.5, 44.4], [64, 81.2], [48.8, 104.2], [99.5, 104.2]];
  const expected = [0.6292976417, -0.0018919265, 10.9858081638, 0.0018919265, 0.6292976417, 24.1271081964];
  const m = estimateSimilarity(src, ARCFACE_TEMPLATE);
  m.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-8, `m[${i}] = ${v}, expected ${expected[i]}`));
});

test("the template maps onto itself; wrong point counts are refused", () => {
  const m = alignmentMatrix(ARCFACE_TEMPLATE);
  [1, 0, 0, 0, 1, 0].forEach((v, i) => assert.ok(Math.abs(m[i]! - v) < 1e-12));
  assert.throws(() => alignmentMatrix(ARCFACE_TEMPLATE.slice(0, 4)), /5 landmarks, got 4/);
});
