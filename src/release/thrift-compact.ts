/**
 * A minimal, lossless Thrift compact-protocol codec: decodes a struct into a tree that keeps every
 * field (known or not) with its wire type, in wire order, and encodes such a tree back. Parquet
 * footers and page indexes are Thrift compact structs; the shard writer uses this to move row
 * groups between files (shifting their byte offsets) without knowing every field of the format.
 *
 * Protocol: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */

export const ThriftType = {
  boolTrue: 1,
  boolFalse: 2,
  byte: 3,
  i16: 4,
  i32: 5,
  i64: 6,
  double: 7,
  binary: 8,
  list: 9,
  set: 10,
  map: 11,
  struct: 12,
} as const;

export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftStruct | ThriftList | ThriftMap;

export interface ThriftField {
  id: number;
  /** Wire type (ThriftType); for booleans `boolTrue`. */
  type: number;
  value: ThriftValue;
}

export interface ThriftStruct {
  fields: ThriftField[];
}

export interface ThriftList {
  elementType: number;
  items: ThriftValue[];
}

export interface ThriftMap {
  keyType: number;
  valueType: number;
  entries: [ThriftValue, ThriftValue][];
}

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error("thrift: unexpected end of data");
    return this.bytes[this.offset++]!;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error("thrift: varint too long");
    }
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  value(type: number): ThriftValue {
    switch (type) {
      case ThriftType.boolTrue:
        return this.byte() === 1;
      case ThriftType.boolFalse:
        return this.byte() === 1;
      case ThriftType.byte: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case ThriftType.i16:
      case ThriftType.i32:
        return Number(this.zigzag());
      case ThriftType.i64:
        return this.zigzag();
      case ThriftType.double: {
        const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 8);
        this.offset += 8;
        return view.getFloat64(0, true);
      }
      case ThriftType.binary: {
        const length = Number(this.varint());
        if (this.offset + length > this.bytes.length) throw new Error("thrift: binary runs past the end");
        const out = this.bytes.slice(this.offset, this.offset + length);
        this.offset += length;
        return out;
      }
      case ThriftType.list:
      case ThriftType.set: {
        const header = this.byte();
        let size = header >> 4;
        const elementType = header & 0x0f;
        if (size === 15) size = Number(this.varint());
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.value(elementType));
        return { elementType, items };
      }
      case ThriftType.map: {
        const size = Number(this.varint());
        if (size === 0) return { keyType: 0, valueType: 0, entries: [] };
        const types = this.byte();
        const keyType = types >> 4;
        const valueType = types & 0x0f;
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let i = 0; i < size; i++) entries.push([this.value(keyType), this.value(valueType)]);
        return { keyType, valueType, entries };
      }
      case ThriftType.struct:
        return this.struct();
      default:
        throw new Error(`thrift: unknown wire type ${type}`);
    }
  }

  struct(): ThriftStruct {
    const fields: ThriftField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { fields };
      const delta = header >> 4;
      const type = header & 0x0f;
      const id = delta === 0 ? Number(this.zigzag()) : lastId + delta;
      lastId = id;
      if (type === ThriftType.boolTrue || type === ThriftType.boolFalse) {
        fields.push({ id, type: ThriftType.boolTrue, value: type === ThriftType.boolTrue });
      } else {
        fields.push({ id, type, value: this.value(type) });
      }
    }
  }
}

/** Decodes one struct starting at `offset`; returns it and the offset just past it. */
export function decodeThriftStruct(bytes: Uint8Array, offset = 0): { struct: ThriftStruct; end: number } {
  const reader = new Reader(bytes);
  reader.offset = offset;
  const struct = reader.struct();
  return { struct, end: reader.offset };
}

class Writer {
  private chunks: number[] = [];

  byte(b: number): void {
    this.chunks.push(b & 0xff);
  }

  varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  zigzag(n: bigint): void {
    this.varint(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
  }

  value(type: number, value: ThriftValue): void {
    switch (type) {
      case ThriftType.boolTrue:
      case ThriftType.boolFalse:
        this.byte(value ? 1 : 2);
        return;
      case ThriftType.byte:
        this.byte(value as number);
        return;
      case ThriftType.i16:
      case ThriftType.i32:
        this.zigzag(BigInt(value as number));
        return;
      case ThriftType.i64:
        this.zigzag(typeof value === "bigint" ? value : BigInt(value as number));
        return;
      case ThriftType.double: {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, value as number, true);
        for (const x of b) this.byte(x);
        return;
      }
      case ThriftType.binary: {
        const bytes = value as Uint8Array;
        this.varint(BigInt(bytes.length));
        for (const x of bytes) this.byte(x);
        return;
      }
      case ThriftType.list:
      case ThriftType.set: {
        const list = value as ThriftList;
        const size = list.items.length;
        if (size < 15) this.byte((size << 4) | list.elementType);
        else {
          this.byte(0xf0 | list.elementType);
          this.varint(BigInt(size));
        }
        for (const item of list.items) this.value(list.elementType, item);
        return;
      }
      case ThriftType.map: {
        const map = value as ThriftMap;
        this.varint(BigInt(map.entries.length));
        if (map.entries.length === 0) return;
        this.byte((map.keyType << 4) | map.valueType);
        for (const [k, v] of map.entries) {
          this.value(map.keyType, k);
          this.value(map.valueType, v);
        }
        return;
      }
      case ThriftType.struct:
        this.struct(value as ThriftStruct);
        return;
      default:
        throw new Error(`thrift: unknown wire type ${type}`);
    }
  }

  struct(struct: ThriftStruct): void {
    let lastId = 0;
    for (const field of struct.fields) {
      const isBool = field.type === ThriftType.boolTrue || field.type === ThriftType.boolFalse;
      const wireType = isBool ? (field.value ? ThriftType.boolTrue : ThriftType.boolFalse) : field.type;
      const delta = field.id - lastId;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | wireType);
      else {
        this.byte(wireType);
        this.zigzag(BigInt(field.id));
      }
      lastId = field.id;
      if (!isBool) this.value(field.type, field.value);
    }
    this.byte(0);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export function encodeThriftStruct(struct: ThriftStruct): Uint8Array {
  const writer = new Writer();
  writer.struct(struct);
  return writer.finish();
}

/** The field with this id, or undefined. */
export function thriftField(struct: ThriftStruct, id: number): ThriftField | undefined {
  return struct.fields.find((f) => f.id === id);
}

/** Adds `delta` to an i64 field when present. */
export function shiftI64Field(struct: ThriftStruct, id: number, delta: bigint): void {
  const field = thriftField(struct, id);
  if (field && field.type === ThriftType.i64) field.value = (field.value as bigint) + delta;
}
