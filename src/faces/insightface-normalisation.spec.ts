import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { firstNodeNames, insightFaceNormalisation } from "./insightface-normalisation.ts";

/** Minimal protobuf encoding of ModelProto { ir_version: 8, graph: { node: [{ name }] ... } }. */
function encodeModel(nodeNames: string[]): Uint8Array {
  const bytes = (field: number, payload: Uint8Array) => {
    const out: number[] = [(field << 3) | 2];
    let len = payload.length;
    while (len >= 0x80) {
      out.push((len & 0x7f) | 0x80);
      len >>>= 7;
    }
    out.push(len);
    return Uint8Array.from([...out, ...payload]);
  };
  const utf8 = (s: string) => new TextEncoder().encode(s);
  const nodes = nodeNames.map((name) => bytes(1, Uint8Array.from([...bytes(1, utf8("x")), ...bytes(3, utf8(name)), ...bytes(4, utf8("Conv"))])));
  const graph = bytes(7, Uint8Array.from(nodes.flatMap((n) => [...n])));
  return Uint8Array.from([0x08, 0x08, ...graph]);
}

test("reads node names from the graph", () => {
  assert.deepEqual(firstNodeNames(encodeModel(["Sub_0", "Mul_1", "Conv_2"])), ["Sub_0", "Mul_1", "Conv_2"]);
  assert.deepEqual(firstNodeNames(encodeModel(["a", "b", "c"]), 2), ["a", "b"]);
  // A truncated head yields the nodes read so far instead of failing.
  const full = encodeModel(["Sub_0", "Mul_1", "Conv_2"]);
  assert.deepEqual(firstNodeNames(full.subarray(0, full.length - 3)).slice(0, 2), ["Sub_0", "Mul_1"]);
});

test("Sub + Mul at the head means the graph normalises itself (mean 0, std 1)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idclusters-norm-"));
  try {
    writeFileSync(join(dir, "a.onnx"), encodeModel(["Sub_0", "Mul_1", "Conv_2"]));
    writeFileSync(join(dir, "b.onnx"), encodeModel(["_minus0", "_mul1"]));
    writeFileSync(join(dir, "c.onnx"), encodeModel(["Sub_0", "Conv_1"]));
    assert.deepEqual(await insightFaceNormalisation(join(dir, "a.onnx")), { mean: 0, std: 1 });
    assert.deepEqual(await insightFaceNormalisation(join(dir, "b.onnx")), { mean: 0, std: 1 });
    assert.deepEqual(await insightFaceNormalisation(join(dir, "c.onnx")), { mean: 127.5, std: 127.5 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the fixture MobileFaceNet starts with Conv/PRelu: InsightFace would feed (p - 127.5) / 127.5", async (t) => {
  const model = join(process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url)), "models", "mobilefacenet_arcface_512.onnx");
  if (!existsSync(model)) return t.skip("../shared/fixtures missing");
  const file = await import("node:fs/promises").then((fs) => fs.readFile(model));
  const names = firstNodeNames(file, 8);
  assert.equal(names.length, 8);
  assert.deepEqual(names.slice(0, 2), ["Conv_0", "PRelu_1"]);
  assert.deepEqual(await insightFaceNormalisation(model), { mean: 127.5, std: 127.5 });
});
