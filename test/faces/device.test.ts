// Provider choice: "auto" keeps the first of cuda, webgpu, cpu that initialises and runs, and says
// which; an explicit device either runs there or fails naming it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ArcFaceRecognizer, loadOnnxSession, AUTO_DEVICE_ORDER } from "../../src/faces/index.ts";
import { UsageError } from "../../src/common/errors.ts";
import { MISSING, fixturesPresent, mobilefacenetSpec, models } from "./fixtures.ts";

test("auto picks a provider that actually runs the model and reports it", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  const recognizer = await ArcFaceRecognizer.create({ spec: mobilefacenetSpec, device: "auto" });
  try {
    assert.ok(AUTO_DEVICE_ORDER.includes(recognizer.provider));
    t.diagnostic(`auto chose ${recognizer.provider}`);
    // The fixture MobileFaceNet has its batch fixed at 1: one crop per inference.
    assert.equal(recognizer.batchSize, 1);
    const crop = { data: new Uint8Array(112 * 112 * 3).fill(100), width: 112, height: 112 };
    const out = await recognizer.embed([crop, crop, crop]);
    assert.equal(out.length, 3);
    assert.deepEqual([...out[0]!], [...out[2]!]);
  } finally {
    await recognizer.dispose();
  }
});

test("an explicit device runs there or fails naming it; a missing model file is a usage error", async (t) => {
  if (!fixturesPresent) return t.skip(MISSING);
  for (const device of ["cuda", "webgpu"] as const) {
    try {
      const { session, provider } = await loadOnnxSession({ modelPath: models.mobilefacenet, device });
      assert.equal(provider, device);
      await session.release();
      t.diagnostic(`${device}: available`);
    } catch (error) {
      assert.match(String(error), new RegExp(`cannot run .*mobilefacenet_arcface_512\\.onnx on ${device}: ${device}: `));
      t.diagnostic(`${device}: unavailable here`);
    }
  }
  await assert.rejects(loadOnnxSession({ modelPath: "/nonexistent/model.onnx", device: "cpu" }), (e) => e instanceof UsageError && /model file not found/.test(e.message));
});
