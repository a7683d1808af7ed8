/**
 * InsightFace's rule for a recognizer's input normalisation (reference-pipeline.md "Embedding":
 * mean 0 / std 1 when the ONNX graph itself starts with Sub and Mul nodes, else 127.5 / 127.5).
 * InsightFace (model_zoo/arcface_onnx.py) looks at the NAMES of the first 8 graph nodes: one starting
 * with "Sub" or "_minus" and one starting with "Mul" or "_mul". We read just enough of the protobuf
 * to see those names (ModelProto.graph = field 7, GraphProto.node = field 1, NodeProto.name =
 * field 3); nodes are serialised before the weights, so the first few MiB are plenty.
 */
import { open } from "node:fs/promises";

const HEAD_BYTES = 4 << 20;

interface Field {
  field: number;
  wire: number;
  start: number;
  end: number;
}

/** Top-level fields of a protobuf message in `buf[start, end)`; stops quietly at truncation. */
function* fields(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    while (pos < end) {
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
    return NaN;
  };
  while (pos < end) {
    const key = varint();
    if (Number.isNaN(key)) return;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let valueStart = pos;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      if (Number.isNaN(length)) return;
      valueStart = pos;
      pos += length;
    } else return; // groups (3, 4) do not occur in ONNX
    yield { field, wire, start: valueStart, end: Math.min(pos, end) };
  }
}

/** Names of the first `count` nodes of an ONNX model held (at least its head) in `buf`. */
export function firstNodeNames(buf: Uint8Array, count = 8): string[] {
  const names: string[] = [];
  const decoder = new TextDecoder();
  for (const model of fields(buf, 0, buf.length)) {
    if (model.field !== 7 || model.wire !== 2) continue;
    for (const graph of fields(buf, model.start, model.end)) {
      if (graph.field !== 1 || graph.wire !== 2) continue;
      let name = "";
      for (const node of fields(buf, graph.start, graph.end)) {
        if (node.field === 3 && node.wire === 2) name = decoder.decode(buf.subarray(node.start, node.end));
      }
      names.push(name);
      if (names.length >= count) return names;
    }
  }
  return names;
}

/** `{ mean, std }` InsightFace would feed this recognizer. */
export async function insightFaceNormalisation(modelPath: string): Promise<{ mean: number; std: number }> {
  const file = await open(modelPath, "r");
  let head: Uint8Array;
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await file.read(buffer, 0, HEAD_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
  const names = firstNodeNames(head, 8);
  const sub = names.some((n) => n.startsWith("Sub") || n.startsWith("_minus"));
  const mul = names.some((n) => n.startsWith("Mul") || n.startsWith("_mul"));
  return sub && mul ? { mean: 0, std: 1 } : { mean: 127.5, std: 127.5 };
}
