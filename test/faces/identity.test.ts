// End to end on the fixture faces: FaceEngine (SCRFD-500M + MobileFaceNet) embeds the 40 labelled
// faces; clustering them at eps 0.5 (connected components of cosine similarity >= 0.5, what DBSCAN
// with min_samples 2 yields, reference-pipeline.md "Clustering") recovers the 8 identities.
import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { readFileSync } from "node:fs";
import { FaceEngine } from "../../src/faces/index.ts";
import { adjustedRandIndex } from "../../src/common/adjusted-rand-index.ts";
import { MISSING, decode, fixturesPresent, labelledFaces, mobilefacenetSpec, scrfdSpec, yunetSpec } from "./fixtures.ts";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Connected components of the graph s >= threshold, numbered by their smallest row. */
function components(embeddings: Float32Array[], threshold: number): number[] {
  const parent = embeddings.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < embeddings.length; i++) {
    for (let j = i + 1; j < embeddings.length; j++) {
      if (dot(embeddings[i]!, embeddings[j]!) >= threshold) parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j));
    }
  }
  return embeddings.map((_, i) => find(i));
}

for (const [name, detector] of [["SCRFD-500M", scrfdSpec], ["YuNet", yunetSpec]] as const) {
  test(`${name} + MobileFaceNet: clustering the 40 labelled faces at eps 0.5 recovers the 8 identities (ARI >= 0.95)`, async (t) => {
    if (!fixturesPresent) return t.skip(MISSING);
    const faces = labelledFaces();
    const engine = await FaceEngine.create({ detector, recognizer: mobilefacenetSpec, device: "cpu" });
    try {
      assert.equal(engine.provider, "cpu");
      assert.equal(engine.embeddingDim, 512);
      const images = await Promise.all(faces.map((f) => decode(f.path)));
      const results = await engine.process(images);
      assert.equal(results.length, 40);
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, "ok", faces[i]!.file);
        assert.equal(r.embedding!.length, 512);
        assert.ok(Math.abs(dot(r.embedding!, r.embedding!) - 1) < 1e-5, "L2-normalised");
      }
      const labels = components(results.map((r) => r.embedding!), 0.5);
      const ari = adjustedRandIndex(faces.map((f) => f.identity), labels);
      t.diagnostic(`${name}: ${new Set(labels).size} clusters, adjusted Rand index ${ari.toFixed(4)}`);
      assert.ok(ari >= 0.95, `adjusted Rand index ${ari}`);
    } finally {
      await engine.dispose();
    }
  });
}

test("an EXIF-rotated copy embeds to cosine > 0.99 of the original; ignoring EXIF would not", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const engine = await FaceEngine.create({ detector: scrfdSpec, recognizer: mobilefacenetSpec, device: "cpu" });
  try {
    const original = readFileSync(labelledFaces()[10]!.path);
    // A JPEG (as cameras write) whose pixels are stored rotated 90 degrees counter-clockwise, tagged
    // orientation 6 ("rotate 90 CW to view").
    const rotated = await sharp(original).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const meta = await sharp(rotated).metadata();
    assert.equal(meta.orientation, 6);
    const [upright, viaExif, ignoringExif] = await engine.process([
      await decode(original),
      await decode(rotated),
      await (async () => {
        const { data, info } = await sharp(rotated).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return { data: new Uint8Array(data), width: info.width, height: info.height };
      })(),
    ]);
    const cosine = dot(upright!.embedding!, viaExif!.embedding!);
    t.diagnostic(`cosine(original, EXIF-rotated copy) = ${cosine.toFixed(5)}`);
    assert.ok(cosine > 0.99, `cosine ${cosine}`);
    if (ignoringExif!.status === "ok") assert.ok(dot(upright!.embedding!, ignoringExif!.embedding!) < 0.99);
  } finally {
    await engine.dispose();
  }
});

test("no face -> no_face result in place; batching and order do not change embeddings; crops on request", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const engine = await FaceEngine.create({ detector: scrfdSpec, recognizer: mobilefacenetSpec, device: "cpu", keepCrops: true });
  try {
    const faces = labelledFaces().slice(0, 3);
    const images = await Promise.all(faces.map((f) => decode(f.path)));
    const blank = { data: new Uint8Array(200 * 200 * 3).fill(90), width: 200, height: 200 };
    const together = await engine.process([images[0]!, blank, images[1]!, images[2]!]);
    assert.deepEqual(together.map((r) => r.status), ["ok", "no_face", "ok", "ok"]);
    assert.equal(together[1]!.facesFound, 0);
    assert.equal(together[1]!.embedding, undefined);
    assert.equal(together[0]!.crop!.width, 112);
    assert.equal(together[0]!.crop!.data.length, 112 * 112 * 3);
    const alone = await engine.process([images[2]!]);
    assert.deepEqual([...alone[0]!.embedding!], [...together[3]!.embedding!]);
    assert.equal(alone[0]!.face!.score, together[3]!.face!.score);
  } finally {
    await engine.dispose();
  }
});
