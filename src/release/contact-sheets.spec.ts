import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseClusters } from "./contact-sheets.ts";

test("clusters for review: largest first, then the weakest-linked, then a seeded sample", () => {
  const clusters = [
    { clusterId: 0, size: 3, weakestLink: 0.9 },
    { clusterId: 1, size: 9, weakestLink: 0.8 },
    { clusterId: 2, size: 2, weakestLink: 0.651 },
    { clusterId: 3, size: 4, weakestLink: 0.66 },
    { clusterId: 4, size: 1, weakestLink: null },
    { clusterId: 5, size: 1, weakestLink: null },
    { clusterId: 6, size: 1, weakestLink: null },
  ];
  const chosen = chooseClusters({ clusters, count: 6, seed: 7 });
  assert.deepEqual(
    chosen.slice(0, 4).map((c) => [c.clusterId, c.why]),
    [[1, "largest"], [3, "largest"], [0, "largest"], [2, "borderline"]],
  );
  assert.deepEqual(chosen.slice(4).map((c) => c.why), ["sample", "sample"]);
  assert.ok(chosen.slice(4).every((c) => [4, 5, 6].includes(c.clusterId)));
  assert.equal(new Set(chosen.map((c) => c.clusterId)).size, 6);
  assert.deepEqual(chooseClusters({ clusters, count: 6, seed: 7 }), chosen, "same seed, same pick");
  assert.equal(chooseClusters({ clusters, count: 20 }).length, 7);
});
