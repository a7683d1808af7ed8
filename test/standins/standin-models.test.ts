// The ONNX writer (scripts/onnx-writer.ts) and the stand-in models (scripts/make-standin-models.ts):
// a hand-checkable graph runs in onnxruntime with the expected numbers, float16 bits are right, the
// stand-ins have the published architectures' parameter and MAC counts, and the SCRFD-10G stand-in
// runs through the project's own ScrfdDetector at detection size 256.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { GraphBuilder, encodeModel, halfBits, writeEncoded } from "../../scripts/onnx-writer.ts";
import { buildStandin, encodeStandin } from "../../scripts/make-standin-models.ts";
import { ScrfdDetector } from "../../src/faces/index.ts";

const dir = mkdtempSync(join(tmpdir(), "idclusters-standins-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("halfBits rounds to nearest even, saturates to infinity and flushes tiny values", () => {
  assert.equal(halfBits(1), 0x3c00);
  assert.equal(halfBits(-2), 0xc000);
  assert.equal(halfBits(65504), 0x7bff);
  assert.equal(halfBits(65520), 0x7c00); // halfway to the next binade: rounds up to infinity
  assert.equal(halfBits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(halfBits(1e-9), 0);
  assert.equal(halfBits(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(halfBits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(halfBits(Number.NaN) & 0x7e00, 0x7e00);
});

test("a written graph (Conv, Add, Relu, Resize, Reshape; dynamic batch) runs in onnxruntime with the hand-computed values", async () => {
  const g = new GraphBuilder("tiny");
  g.input("x", "float32", ["N", 1, 2, 2]);
  // 1x1 conv, weight 2, bias -1; + x; relu; nearest x2; reshape to [N, -1, 4].
  const w = g.initializer("w", "float32", [1, 1, 1, 1], [2]);
  const b = g.initializer("b", "float32", [1], [-1]);
  const conv = g.op("Conv", ["x", w, b], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] });
  const sum = g.op("Add", [conv, "x"]);
  const relu = g.op("Relu", [sum]);
  const roi = g.initializer("roi", "float32", [0], []);
  const scales = g.initializer("scales", "float32", [4], [1, 1, 2, 2]);
  const up = g.op("Resize", [relu, roi, scales], { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" });
  const shape = g.initializer("shape", "int64", [3], [0, -1, 4]);
  g.op("Reshape", [up, shape], undefined, "y");
  g.output("y", "float32", ["N", 4, 4]);
  const path = join(dir, "tiny.onnx");
  writeEncoded(path, encodeModel(g, { irVersion: 7, opset: 11, producerName: "test" }));

  const session = await ort.InferenceSession.create(path);
  const x = new ort.Tensor("float32", Float32Array.from([0, 1, -1, 2, 1, 1, 1, 1]), [2, 1, 2, 2]);
  const y = (await session.run({ x })).y!;
  assert.deepEqual(y.dims, [2, 4, 4]);
  // relu(3x - 1): [0, 2, 0, 5] upsampled nearest x2, row-major.
  const first = [0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 5, 5, 0, 0, 5, 5];
  assert.deepEqual(Array.from(y.data as Float32Array).slice(0, 16), first);
  assert.deepEqual(Array.from(y.data as Float32Array).slice(16), new Array(16).fill(2));
  assert.equal(session.inputMetadata[0]!.isTensor && session.inputMetadata[0]!.shape[0], "N");
  await session.release();
});

test("float16 initializers and float16 graph input/output round-trip", async () => {
  const g = new GraphBuilder("half");
  g.input("x", "float16", [3]);
  const c = g.initializer("c", "float16", [3], [0.5, -2, 1000]);
  g.op("Add", ["x", c], undefined, "y");
  g.output("y", "float16", [3]);
  const path = join(dir, "half.onnx");
  writeEncoded(path, encodeModel(g, { irVersion: 7, opset: 11, producerName: "test" }));
  const session = await ort.InferenceSession.create(path);
  const x = new ort.Tensor("float16", Uint16Array.from([1, 1, 1].map(halfBits)), [3]);
  const y = (await session.run({ x })).y!;
  assert.equal(y.type, "float16");
  assert.deepEqual(Array.from(y.data as Uint16Array), [1.5, -1, 1001].map(halfBits));
  await session.release();
});

test("the stand-ins have the published parameter and MAC counts (dry build, no weights)", () => {
  const r100 = buildStandin("iresnet100", true).info;
  // IResNet-100: ~65.2 M parameters, 24.2 GFLOPs = 12.1 GMACs at 112x112.
  assert.equal(r100.parameters, 65_156_288);
  assert.equal(r100.macs, 12_089_606_144);
  const scrfd = buildStandin("scrfd_10g_bnkps", true).info;
  // SCRFD_10G_KPS: 4.23 M parameters, "10 GFLOPs" (mmcv counts MACs) at VGA 640x480.
  assert.equal(Math.round(scrfd.parameters / 1e4) / 100, 4.23);
  assert.ok(Math.abs(scrfd.macsVga! / 1e9 - 10.0) < 0.1, `${scrfd.macsVga} MACs at VGA`);
  assert.deepEqual(
    scrfd.outputs.map((o) => o.name),
    ["score_8", "score_16", "score_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"],
  );
});

test("the SCRFD-10G stand-in is reproducible and runs through ScrfdDetector at 256 (fp32 and fp16)", async () => {
  for (const name of ["scrfd_10g_bnkps", "scrfd_10g_bnkps_fp16"] as const) {
    const path = join(dir, `${name}.onnx`);
    writeEncoded(path, encodeStandin(buildStandin(name).graph));
    const again = join(dir, `${name}.again.onnx`);
    writeEncoded(again, encodeStandin(buildStandin(name).graph));
    assert.ok(readFileSync(path).equals(readFileSync(again)), `${name}: same bytes twice`);

    const detector = await ScrfdDetector.create({ spec: { kind: "scrfd", modelPath: path, inputSize: 256, scoreThreshold: 0.5 }, device: "cpu" });
    try {
      assert.equal(detector.inputWidth, 256);
      assert.equal(detector.inputHeight, 256);
      const image = { data: new Uint8Array(512 * 512 * 3).fill(128), width: 512, height: 512 };
      // Random weights with the head's init bias: decoding runs, (almost) nothing passes 0.5.
      const faces = await detector.detect(image);
      assert.ok(faces.length < 5, `${faces.length} faces`);
    } finally {
      await detector.dispose();
    }
  }
});
