// Parity with the Python reference (InsightFace norm_crop = skimage SimilarityTransform +
// cv2.warpAffine; OpenCV's FaceDetectorYN decoding), computed here with Debian's /usr/bin/python3 from the
// same raw pixels and OUR detected landmarks. Skips when that Python is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ScrfdDetector, YunetDetector, alignFace, chooseFace } from "../../src/faces/index.ts";
import type { RgbImage } from "../../src/common/image.ts";
import { MISSING, decode, fixturesPresent, groupPhotos, labelledFaces, scrfdSpec, yunetSpec } from "./fixtures.ts";
import { NO_PYTHON, opencvPythonAvailable, runReference, writeRaw } from "./python-reference.ts";

test("aligned crops match InsightFace norm_crop within 0.5 grey levels (mean absolute difference)", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  if (!opencvPythonAvailable()) return t.skip(NO_PYTHON);
  const detector = await ScrfdDetector.create({ spec: scrfdSpec, device: "cpu" });
  const images: RgbImage[] = [];
  const landmarks: [number, number][][] = [];
  const names: string[] = [];
  try {
    const inputs = [...labelledFaces(), ...groupPhotos()];
    for (const input of inputs) {
      const image = await decode(input.path);
      const faces = await detector.detect(image);
      const face = chooseFace(faces, image.width, image.height);
      assert.ok(face, `${input.file}: no face`);
      images.push(image);
      landmarks.push(face.landmarks);
      names.push(input.file);
    }
  } finally {
    await detector.dispose();
  }
  const { dir, items } = writeRaw(images);
  try {
    runReference({ mode: "align", out: dir, items: items.map((item, i) => ({ ...item, landmarks: landmarks[i] })) });
    let worst = 0;
    let total = 0;
    for (let i = 0; i < images.length; i++) {
      const ours = alignFace(images[i]!, landmarks[i]!).data;
      const theirs = readFileSync(join(dir, `${i}.rgb`));
      assert.equal(theirs.length, ours.length);
      let sum = 0;
      for (let k = 0; k < ours.length; k++) sum += Math.abs(ours[k]! - theirs[k]!);
      const mad = sum / ours.length;
      worst = Math.max(worst, mad);
      total += mad;
      assert.ok(mad < 0.5, `${names[i]}: mean absolute difference ${mad.toFixed(4)} >= 0.5`);
    }
    t.diagnostic(`crops: ${images.length}, mean MAD ${(total / images.length).toFixed(4)}, worst ${worst.toFixed(4)} grey levels`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("YuNet decoding matches OpenCV (cv2.dnn + FaceDetectorYN post-processing) on the same letterboxed pixels", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  if (!opencvPythonAvailable()) return t.skip(NO_PYTHON);
  const detector = await YunetDetector.create({ spec: yunetSpec, device: "cpu" });
  const inputs = [...groupPhotos(), ...labelledFaces().filter((_, i) => i % 5 === 0)];
  const images = await Promise.all(inputs.map((input) => decode(input.path)));
  const { dir, items } = writeRaw(images);
  try {
    let worstBox = 0;
    const reference = runReference<number[][][]>({ mode: "yunet", model: yunetSpec.modelPath, size: 640, score: 0.5, nms: 0.4, items });
    for (let i = 0; i < images.length; i++) {
      const ours = await detector.detect(images[i]!);
      const theirs = reference[i]!;
      assert.ok(theirs.length >= 1, `${inputs[i]!.file}: the reference found no face`);
      assert.equal(ours.length, theirs.length, `${inputs[i]!.file}: ${ours.length} faces vs OpenCV ${theirs.length}`);
      for (const row of theirs) {
        // Same face: nearest of ours by box, then box, score and keypoints within resize rounding.
        const match = ours.reduce((best, f) => (Math.abs(f.box[0] - row[0]!) + Math.abs(f.box[1] - row[1]!) < Math.abs(best.box[0] - row[0]!) + Math.abs(best.box[1] - row[1]!) ? f : best));
        const scale = Math.max(images[i]!.width, images[i]!.height) / 640;
        const tolerance = 2 * scale + 0.5;
        match.box.forEach((v, k) => (worstBox = Math.max(worstBox, Math.abs(v - row[k]!))));
        match.box.forEach((v, k) => assert.ok(Math.abs(v - row[k]!) < tolerance, `${inputs[i]!.file}: box ${match.box} vs ${row.slice(0, 4)}`));
        assert.ok(Math.abs(match.score - row[4]!) < 0.02, `${inputs[i]!.file}: score ${match.score} vs ${row[4]}`);
        match.landmarks.flat().forEach((v, k) => assert.ok(Math.abs(v - row[5 + k]!) < tolerance, `${inputs[i]!.file}: keypoint ${k}`));
      }
    }
    t.diagnostic(`images: ${images.length}, largest box coordinate difference ${worstBox.toFixed(3)} px`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await detector.dispose();
  }
});
