/**
 * The risk order on small hand-made embeddings: an ambiguous pair first, then a weak link near
 * eps, a near pair of identities and a single image near one, a large identity; the unflagged
 * after them; the loosest member and the nearest identity named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rankClusters } from "./rank-clusters.ts";
import { RISK_KINDS } from "./review-types.ts";
import { weakestLinks } from "./weakest-links.ts";

const DIMS = 16;

/** A unit vector at angle `degrees` from axis `axis` towards axis `axis + 1`. */
function at(axis: number, degrees: number): number[] {
  const v = new Array(DIMS).fill(0);
  const r = (degrees * Math.PI) / 180;
  v[axis] = Math.cos(r);
  v[(axis + 1) % DIMS] = Math.sin(r);
  return v;
}

function matrix(vectors: number[][]): { embeddings: Float32Array; embeddingRow: Int32Array } {
  return { embeddings: Float32Array.from(vectors.flat()), embeddingRow: Int32Array.from(vectors, (_, i) => i) };
}

test("weakest link: the member whose nearest mate is farthest, as a cosine distance", () => {
  // 0 and 1 are 10 degrees apart, 2 is 60 degrees from 1: its best mate is at cosine 0.5.
  const { embeddings, embeddingRow } = matrix([at(0, 0), at(0, 10), at(0, 70), at(3, 0)]);
  const weak = weakestLinks({ groups: [[0, 1, 2], [3]], embeddings, dims: DIMS, embeddingRow });
  assert.ok(Math.abs(weak.distance[0]! - 0.5) < 1e-6);
  assert.equal(weak.row[0], 2);
  assert.ok(Number.isNaN(weak.distance[1]!), "a single image has no internal link");
  assert.equal(weak.row[1], -1);
});

test("flagged identities come first, each with its reason, the nearest identity named", { timeout: 60_000 }, async () => {
  const eps = 0.35;
  const vectors = [
    // g0: tight pair on axis 0 with an ambiguous pair to g1
    at(0, 0), at(0, 5),
    // g1: tight pair on axis 2
    at(2, 0), at(2, 5),
    // g2: a weak link: 3 members, the last 48 degrees from its nearest (distance 0.33 >= 0.9 x eps)
    at(4, 0), at(4, 5), at(4, 53),
    // g3: a single image 30 degrees from g1's centre (distance 0.13 < eps + 0.1)
    at(2, 32),
    // g4: big and tight (7 images) on axis 6
    at(6, 0), at(6, 1), at(6, 2), at(6, 3), at(6, 4), at(6, 5), at(6, 6),
    // g5..g7: three unremarkable tight pairs on axes 8, 10, 12 (90 degrees from everything)
    at(8, 45), at(8, 46), at(10, 45), at(10, 46), at(12, 45), at(12, 46),
  ];
  const groups = [[0, 1], [2, 3], [4, 5, 6], [7], [8, 9, 10, 11, 12, 13, 14], [15, 16], [17, 18], [19, 20]];
  const { embeddings, embeddingRow } = matrix(vectors);
  const ranked = await rankClusters({ groups, embeddings, dims: DIMS, embeddingRow, ambiguousPairs: [{ a: 1, b: 2, similarity: 0.65 }], eps, threads: 1 });
  const r = ranked.risks;
  assert.equal(r[0]!.kinds & RISK_KINDS.ambiguous, RISK_KINDS.ambiguous);
  assert.equal(r[0]!.ambiguousGroup, 1);
  assert.equal(r[1]!.kinds & RISK_KINDS.ambiguous, RISK_KINDS.ambiguous);
  assert.equal(r[2]!.kinds & RISK_KINDS.weakLink, RISK_KINDS.weakLink);
  assert.equal(r[2]!.weakestRow, 6);
  assert.equal(r[3]!.kinds & RISK_KINDS.singletonNear, RISK_KINDS.singletonNear);
  assert.equal(r[3]!.nearestGroup, 1);
  assert.equal(r[1]!.kinds & RISK_KINDS.nearCluster, RISK_KINDS.nearCluster, "g1 is near the single image g3");
  assert.equal(r[1]!.nearestGroup, 3);
  assert.equal(r[4]!.kinds, RISK_KINDS.large, `large from ${ranked.largeFrom}`);
  for (const g of [5, 6, 7]) assert.equal(r[g]!.kinds, 0, `g${g} unflagged`);
  assert.deepEqual(ranked.order.slice(0, 2).sort(), [0, 1], "ambiguous first");
  assert.deepEqual(new Set(ranked.order.slice(5)), new Set([5, 6, 7]), "unflagged last");
  assert.ok(r.every((risk) => risk.score >= 0 && risk.score <= 1));
});

test("one identity: nothing to compare, nothing breaks", async () => {
  const { embeddings, embeddingRow } = matrix([at(0, 0), at(0, 3)]);
  const ranked = await rankClusters({ groups: [[0, 1]], embeddings, dims: DIMS, embeddingRow, ambiguousPairs: [], eps: 0.35 });
  assert.deepEqual(ranked.order, [0]);
  assert.equal(ranked.risks[0]!.nearestDistance, null);
  assert.equal(ranked.risks[0]!.nearestGroup, -1);
});
