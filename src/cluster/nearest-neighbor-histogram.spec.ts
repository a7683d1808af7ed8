import { test } from "node:test";
import assert from "node:assert/strict";
import { nearestNeighborHistogram } from "./nearest-neighbor-histogram.ts";
import { mulberry32 } from "../common/seeded-random.ts";

/** Seeded normal samples (mulberry32 + Box-Muller). */
function normals(seed: number, count: number, mean: number, sd: number): number[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => mean + sd * Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand()));
}

test("a bimodal sample: modes near 0.25 and 0.8, valley at the density minimum, Otsu between", () => {
  // 4000 look-alike rows around 0.25 and 6000 same-person rows around 0.8, plus 30 exact duplicates
  const low = normals(1, 4000, 0.25, 0.06);
  const high = normals(2, 6000, 0.8, 0.05);
  const sample = [...low, ...high, ...new Array(30).fill(1), NaN];
  const h = nearestNeighborHistogram({ nearest: sample });
  assert.equal(h.exactDuplicates, 30);
  assert.equal(h.rows, 10000);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 10000);
  assert.equal(h.modes.length, 2);
  assert.ok(Math.abs(h.modes[0]! - 0.25) <= 0.03, `low mode ${h.modes[0]}`);
  assert.ok(Math.abs(h.modes[1]! - 0.8) <= 0.03, `high mode ${h.modes[1]}`);
  // the mixture density 0.4 N(0.25, 0.06) + 0.6 N(0.8, 0.05) is lowest near 0.52
  let best = 0.3;
  const density = (x: number) =>
    (0.4 / 0.06) * Math.exp(-(((x - 0.25) / 0.06) ** 2) / 2) + (0.6 / 0.05) * Math.exp(-(((x - 0.8) / 0.05) ** 2) / 2);
  for (let x = 0.3; x <= 0.75; x += 0.001) if (density(x) < density(best)) best = x;
  assert.ok(h.valley !== null && Math.abs(h.valley - best) <= 0.08, `valley ${h.valley}, density minimum ${best}`);
  assert.ok(h.otsuThreshold !== null && h.otsuThreshold > 0.35 && h.otsuThreshold < 0.7, `otsu ${h.otsuThreshold}`);
  assert.equal(h.suggestedEps, Math.round((1 - h.valley!) * 1000) / 1000);
});

test("one mode gives no valley and no suggestion; an empty sample gives nothing", () => {
  const one = nearestNeighborHistogram({ nearest: normals(3, 2000, 0.8, 0.03) });
  assert.equal(one.modes.length, 1);
  assert.equal(one.valley, null);
  assert.equal(one.suggestedEps, null);
  const none = nearestNeighborHistogram({ nearest: [NaN] });
  assert.deepEqual([none.rows, none.modes, none.valley, none.otsuThreshold], [0, [], null, null]);
});
