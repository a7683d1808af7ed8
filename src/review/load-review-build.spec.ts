/**
 * Reading a work dir for review: rows without a face or unreadable are left out (and named when a
 * decision mentions them), `noise: drop` labels are matched to their rows through label-rows.npy,
 * ambiguous pairs are mapped to review rows, and a missing file is named with what to run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeNpy } from "../common/npy.ts";
import { loadReviewBuild } from "./load-review-build.ts";

const sha = (i: number) => i.toString(16).padStart(64, "0");

test("a noise: drop build with rows without a face, read for review", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-review-build-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Source rows 0..5: row 2 has no face, row 4 could not be read; embeddings rows 0..3 are source rows 0, 1, 3, 5.
  const entries = [
    { row: 0, file_name: "a.jpg", image_sha256: sha(0), status: "ok", embedding_row: 0, box: [1, 2, 3, 4] },
    { row: 1, file_name: "b.jpg", image_sha256: sha(1), status: "ok", embedding_row: 1, box: [5, 6, 7, 8] },
    { row: 2, file_name: "c.jpg", image_sha256: sha(2), status: "no_face", embedding_row: null, box: null },
    { row: 3, file_name: "d.jpg", image_sha256: sha(3), status: "ok", embedding_row: 2, box: [9, 9, 9, 9] },
    { row: 4, file_name: "e.jpg", image_sha256: null, status: "error", embedding_row: null, box: null },
    { row: 5, file_name: "f.jpg", image_sha256: sha(5), status: "ok", embedding_row: 3, box: [0, 0, 2, 2] },
  ];
  const index = join(dir, "embeddings-index.jsonl");
  await writeFile(index, entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const dims = 2;
  writeNpy(join(dir, "embeddings.npy"), { shape: [4, dims], data: Float32Array.from([1, 0, 1, 0, 0, 1, 0.6, 0.8]) });
  // DBSCAN dropped embedding row 2 (source row 3) as noise: three labels for rows 0, 1, 3.
  writeNpy(join(dir, "labels-sklearn.npy"), { shape: [3], data: BigInt64Array.from([0n, 0n, 1n]) });
  writeNpy(join(dir, "label-rows.npy"), { shape: [3], data: BigInt64Array.from([0n, 1n, 3n]) });
  await writeFile(join(dir, "cluster-stats.json"), JSON.stringify({ eps: 0.35, min_samples: 2, noise_policy: "drop", ambiguous_pairs: [{ i: 1, j: 3, similarity: 0.65, neighbor: false }, { i: 0, j: 2, similarity: 0.65, neighbor: false }] }));

  const paths = { embeddingsPath: join(dir, "embeddings.npy"), indexPath: index, labelsPath: join(dir, "labels-sklearn.npy"), labelRowsPath: join(dir, "label-rows.npy"), statsPath: join(dir, "cluster-stats.json"), buildCommand: "idclusters run --config c.yaml" };
  const build = await loadReviewBuild(paths);
  assert.deepEqual(Array.from(build.rows.sourceRow), [0, 1, 5]);
  assert.deepEqual(Array.from(build.rows.embeddingRow), [0, 1, 3]);
  assert.deepEqual(build.rows.fileName, ["a.jpg", "b.jpg", "f.jpg"]);
  assert.deepEqual(Array.from(build.labels), [0, 0, 1]);
  assert.deepEqual(Array.from(build.rows.box), [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 2, 2]);
  assert.deepEqual(build.ambiguousPairs, [{ a: 1, b: 2, similarity: 0.65 }], "the pair with the dropped row has no review row");
  assert.deepEqual([build.eps, build.minSamples, build.noise, build.dims], [0.35, 2, "drop", 2]);
  assert.deepEqual(build.skipped, { noFace: 1, error: 1, droppedNoise: 1 });
  assert.match(build.absent.get(sha(2))!, /has no detected face/);
  assert.match(build.absent.get(sha(3))!, /DBSCAN noise, dropped from the release \(noise: drop\)/);

  await rm(paths.labelRowsPath);
  await assert.rejects(loadReviewBuild(paths), /3 labels for 4 embeddings and .*label-rows\.npy is missing; run idclusters run --config c\.yaml again/);
  await rm(paths.statsPath);
  await assert.rejects(loadReviewBuild(paths), /cluster-stats\.json is missing \(the cluster statistics\): the work dir has no build yet; run idclusters run --config c\.yaml first/);
});
