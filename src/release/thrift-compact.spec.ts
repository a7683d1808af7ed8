import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeThriftStruct, encodeThriftStruct, shiftI64Field, ThriftType, type ThriftStruct } from "./thrift-compact.ts";

test("compact protocol: decode(encode(x)) keeps every field, type and order; encoding is the canonical one", () => {
  const struct: ThriftStruct = {
    fields: [
      { id: 1, type: ThriftType.i32, value: -3 },
      { id: 2, type: ThriftType.i64, value: 1n << 40n },
      { id: 4, type: ThriftType.boolTrue, value: false },
      { id: 5, type: ThriftType.binary, value: new TextEncoder().encode("PAR1") },
      { id: 6, type: ThriftType.double, value: 0.5 },
      { id: 30, type: ThriftType.list, value: { elementType: ThriftType.i64, items: Array.from({ length: 20 }, (_, i) => BigInt(i * 1000)) } },
      { id: 31, type: ThriftType.struct, value: { fields: [{ id: 1, type: ThriftType.byte, value: -1 }] } },
    ],
  };
  const bytes = encodeThriftStruct(struct);
  // Field 1 (delta 1, i32) = -3 zigzag 5: 0x15 0x05.
  assert.deepEqual([...bytes.slice(0, 2)], [0x15, 0x05]);
  const { struct: back, end } = decodeThriftStruct(bytes);
  assert.equal(end, bytes.length);
  assert.deepEqual(back, struct);
  assert.deepEqual(encodeThriftStruct(back), bytes);
  shiftI64Field(back, 2, 5n);
  assert.equal(back.fields[1]!.value, (1n << 40n) + 5n);
  assert.throws(() => decodeThriftStruct(bytes.slice(0, 5)), /unexpected end/);
});
