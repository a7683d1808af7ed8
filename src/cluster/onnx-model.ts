/**
 * A tiny ONNX ModelProto writer: just enough protobuf to describe the few-node similarity graphs
 * the cluster stage runs on onnxruntime, so we need neither a model file nor a protobuf library.
 * Field numbers: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
 */

/** ONNX TensorProto.DataType values used here. */
export const OnnxType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, double: 11 } as const;

export interface OnnxValueInfo {
  name: string;
  /** An `OnnxType` value. */
  elemType: number;
  /** Each dimension: a fixed size or a symbolic name. */
  dims: (number | string)[];
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Integer, integer-list or float attributes. */
  attributes?: Record<string, number | number[] | { float: number }>;
}

export interface OnnxInitializer {
  name: string;
  elemType: number;
  dims: number[];
  /** Little-endian raw bytes of the values. */
  raw: Uint8Array;
}

export interface OnnxModelParams {
  /** Graph nodes in topological order. */
  nodes: OnnxNode[];
  /** Graph inputs fed at run time. */
  inputs: OnnxValueInfo[];
  /** Graph outputs (element type and dims may be left to shape inference; we state them). */
  outputs: OnnxValueInfo[];
  /** Constant tensors. */
  initializers?: OnnxInitializer[];
  /** Default-domain opset (13 keeps ReduceMax's `axes` an attribute). */
  opset?: number;
}

class Writer {
  private chunks: number[] = [];
  varint(value: number): this {
    // Negative int64 values (none here except axes=-1 style) are encoded as 10-byte two's complement.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2).varint(value.length);
    for (const b of value) this.chunks.push(b);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function writeValueInfo(w: Writer, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, info.elemType);
      tensor.message(2, (shape) => {
        for (const dim of info.dims) {
          shape.message(1, (d) => (typeof dim === "number" ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

/** Serialises a single-graph ONNX model (IR version 8). */
export function buildOnnxModel(params: OnnxModelParams): Uint8Array {
  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, "idclusters");
  model.message(7, (graph) => {
    params.nodes.forEach((node, index) => {
      graph.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, `${node.opType}_${index}`);
        n.string(4, node.opType);
        for (const [name, value] of Object.entries(node.attributes ?? {})) {
          n.message(5, (a) => {
            a.string(1, name);
            if (Array.isArray(value)) {
              for (const v of value) a.int(8, v);
              a.int(20, 7); // INTS
            } else if (typeof value === "number") {
              a.int(3, value);
              a.int(20, 2); // INT
            } else {
              a.float(2, value.float);
              a.int(20, 1); // FLOAT
            }
          });
        }
      });
    });
    graph.string(2, "similarity");
    for (const init of params.initializers ?? []) {
      graph.message(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, init.elemType);
        t.string(8, init.name);
        t.bytes(9, init.raw);
      });
    }
    for (const input of params.inputs) graph.message(11, (v) => writeValueInfo(v, input));
    for (const output of params.outputs) graph.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (opset) => {
    opset.string(1, "");
    opset.int(2, params.opset ?? 13);
  });
  return model.finish();
}
