/**
 * A small ONNX writer: just the protobuf messages a plain inference graph needs, so the stand-in
 * model generator (scripts/make-standin-models.ts) depends on nothing but Node. Field numbers are
 * those of onnx/onnx.proto (proto2, IR version 7+); only what is written here is covered:
 *
 *   ModelProto          ir_version 1, producer_name 2, producer_version 3, doc_string 6,
 *                       graph 7, opset_import 8
 *   OperatorSetIdProto  domain 1, version 2
 *   GraphProto          node 1, name 2, initializer 5, doc_string 10, input 11, output 12
 *   NodeProto           input 1, output 2, name 3, op_type 4, attribute 5, domain 7
 *   AttributeProto      name 1, f 2, i 3, s 4, floats 7, ints 8, type 20
 *                       (AttributeType FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7)
 *   TensorProto         dims 1, data_type 2, name 8, raw_data 9 (little-endian, fixed width)
 *                       (DataType FLOAT 1, INT64 7, FLOAT16 10)
 *   ValueInfoProto      name 1, type 2
 *   TypeProto           tensor_type 1 -> TypeProto.Tensor elem_type 1, shape 2
 *   TensorShapeProto    dim 1 -> Dimension dim_value 1, dim_param 2
 *
 * Encoding: a message is a list of byte chunks plus its total length, so the ~260 MB of weights of
 * a large model are never copied into one buffer: `writeModel` streams the chunks to the file.
 * Output is deterministic: same graph, same bytes.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { toHalf } from "../src/faces/float16.ts";

// ---------------------------------------------------------------------------------------------
// Protobuf wire format

/** An encoded message (or part of one): chunks in order and their total byte length. */
export interface Encoded {
  chunks: Uint8Array[];
  length: number;
}

const WIRE_VARINT = 0;
const WIRE_I32 = 5;
const WIRE_LEN = 2;

function varint(value: number | bigint): Uint8Array {
  // int64 fields: negative values are 10-byte two's complement varints.
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(bytes);
}

const utf8 = new TextEncoder();

/** Builder for one protobuf message: append fields in field-number order of your choice. */
class Message {
  readonly chunks: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private tag(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(value));
    return this;
  }
  float(field: number, value: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }
  message(field: number, value: Encoded): this {
    this.tag(field, WIRE_LEN);
    this.push(varint(value.length));
    for (const c of value.chunks) this.push(c);
    return this;
  }
  /** Packed repeated int64 (proto2 `repeated int64 ... [packed]` and readers accept packed for any scalar). */
  packedInts(field: number, values: readonly number[]): this {
    const body = values.map((v) => varint(v));
    const len = body.reduce((s, b) => s + b.length, 0);
    this.tag(field, WIRE_LEN);
    this.push(varint(len));
    for (const b of body) this.push(b);
    return this;
  }
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(4 * values.length);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }
}

// ---------------------------------------------------------------------------------------------
// float16: the engine's own conversion (round to nearest even, overflow to infinity), so the
// stand-ins' fp16 weights are rounded exactly as the recognizer rounds fp16 inputs.

export const halfBits = toHalf;

// ---------------------------------------------------------------------------------------------
// ONNX messages

export type ElemType = "float32" | "float16" | "int64";
const DATA_TYPE: Record<ElemType, number> = { float32: 1, int64: 7, float16: 10 };

/** A dimension: a fixed size, or a name for a free (dynamic) one. */
export type Dim = number | string;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

function attribute(name: string, value: AttrValue): Encoded {
  const m = new Message().string(1, name);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: x } for floats`);
    m.int(3, value).int(20, 2);
  } else if (typeof value === "string") m.string(4, value).int(20, 3);
  else if (Array.isArray(value)) m.packedInts(8, value).int(20, 7);
  else if ("floats" in value) m.packedFloats(7, value.floats).int(20, 6);
  else m.float(2, value.float).int(20, 1);
  return m;
}

function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): Encoded {
  const shape = new Message();
  for (const d of dims) shape.message(1, typeof d === "number" ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, DATA_TYPE[elemType]).message(2, shape);
  const type = new Message().message(1, tensorType);
  return new Message().string(1, name).message(2, type);
}

function tensor(name: string, elemType: ElemType, dims: readonly number[], raw: Uint8Array): Encoded {
  const m = new Message();
  for (const d of dims) m.int(1, d);
  return m.int(2, DATA_TYPE[elemType]).string(8, name).bytes(9, raw);
}

/** Little-endian raw bytes of `values` as `elemType`. */
export function rawData(values: Float32Array | readonly number[], elemType: ElemType): Uint8Array {
  const n = values.length;
  if (elemType === "float32") {
    const out = values instanceof Float32Array ? values : Float32Array.from(values);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  if (elemType === "float16") {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = halfBits(values[i]!);
    return new Uint8Array(out.buffer);
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = BigInt(values[i]!);
  return new Uint8Array(out.buffer);
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

/**
 * Collects a graph: nodes in topological order (the caller's order), initializers, inputs and
 * outputs. Also counts parameters (initializer elements) and multiply-accumulates per op.
 */
export class GraphBuilder {
  private readonly nodes: Encoded[] = [];
  private readonly initializers: Encoded[] = [];
  private readonly inputs: Encoded[] = [];
  private readonly outputs: Encoded[] = [];
  private counter = 0;
  /** Initializer elements (weights, biases, BN statistics, shape constants). */
  parameters = 0;
  /** Multiply-accumulates added by the caller through `addMacs` (the builder does no shape inference). */
  macs = 0;
  readonly opCounts = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  initializer(name: string, elemType: ElemType, dims: readonly number[], values: Float32Array | readonly number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length) throw new Error(`initializer ${name}: ${values.length} values for dims ${dims.join("x")}`);
    this.initializers.push(tensor(name, elemType, dims, rawData(values, elemType)));
    if (elemType !== "int64") this.parameters += count;
    return name;
  }

  node(spec: NodeSpec): string[] {
    const m = new Message();
    for (const i of spec.inputs) m.string(1, i);
    for (const o of spec.outputs) m.string(2, o);
    m.string(3, spec.name ?? `${spec.op}_${this.nodes.length}`);
    m.string(4, spec.op);
    for (const [k, v] of Object.entries(spec.attrs ?? {})) m.message(5, attribute(k, v));
    if (spec.domain) m.string(7, spec.domain);
    this.nodes.push(m);
    this.opCounts.set(spec.op, (this.opCounts.get(spec.op) ?? 0) + 1);
    return spec.outputs;
  }

  /** One-output node; returns its output name (fresh unless given). */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.node({ op, inputs, outputs: [out], attrs });
    return out;
  }

  addMacs(n: number): void {
    this.macs += n;
  }

  encode(): Encoded {
    const g = new Message();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, this.name);
    for (const t of this.initializers) g.message(5, t);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    return g;
  }
}

export interface ModelOptions {
  /** ONNX IR version (7 pairs with opsets up to 12, 8 up to 20). */
  irVersion: number;
  /** Default-domain opset version. */
  opset: number;
  producerName: string;
  producerVersion?: string;
  docString?: string;
}

export function encodeModel(graph: GraphBuilder, options: ModelOptions): Encoded {
  const m = new Message().int(1, options.irVersion).string(2, options.producerName);
  if (options.producerVersion) m.string(3, options.producerVersion);
  if (options.docString) m.string(6, options.docString);
  m.message(7, graph.encode());
  m.message(8, new Message().string(1, "").int(2, options.opset));
  return m;
}

/** Writes an encoded model to `path` chunk by chunk (no single large buffer). */
export function writeEncoded(path: string, encoded: Encoded): void {
  const fd = openSync(path, "w");
  try {
    // Coalesce the many small chunks (tags, lengths) into 1 MiB writes; big weight arrays go straight through.
    const pending = new Uint8Array(1 << 20);
    let fill = 0;
    const writeAll = (bytes: Uint8Array) => {
      // writeSync may write less than asked; loop until the chunk is out.
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    };
    const flush = () => {
      if (fill) writeAll(pending.subarray(0, fill));
      fill = 0;
    };
    for (const c of encoded.chunks) {
      if (c.length > pending.length / 2) {
        flush();
        writeAll(c);
      } else {
        if (fill + c.length > pending.length) flush();
        pending.set(c, fill);
        fill += c.length;
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
}
