import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRowGroup } from "./encode-row-group.ts";
import { IpcScratch } from "./ipc-stream.ts";
import { CORE_COLUMNS, packRowGroup, type ReleaseRow } from "./release-schema.ts";

function rows(seed: number): ReleaseRow[] {
  return Array.from({ length: 40 }, (_, i) => {
    const bytes = new Uint8Array(3000 + ((i * 977 + seed) % 5000));
    for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 31 + i * 7 + seed) & 255;
    const image = i % 9 === 4 ? null : { bytes: i % 7 === 2 ? null : bytes, path: `${seed}-${i}.jpg` };
    return { image, file_name: `${seed}-${i}.jpg`, cluster_id: Math.floor(i / 3), cluster_size: i % 5 === 1 ? null : 3 };
  });
}

test("encoding into a reused output buffer gives parquet-wasm's own bytes, call after call", () => {
  const encoding = { columns: [...CORE_COLUMNS], rowGroupSize: 40, writeBatchSize: 7 };
  const output = new IpcScratch();
  for (const seed of [1, 2, 3]) {
    const expected = encodeRowGroup(encoding, packRowGroup(CORE_COLUMNS, rows(seed)));
    const reused = encodeRowGroup(encoding, packRowGroup(CORE_COLUMNS, rows(seed)), new IpcScratch(), output);
    assert.ok(reused.length > 100_000);
    assert.deepEqual(Buffer.from(reused), Buffer.from(expected));
  }
  // The standard slice is back once the call returns.
  assert.notEqual(Uint8Array.prototype.slice, undefined);
  assert.equal(Object.hasOwn(Uint8Array.prototype, "slice"), false);
  assert.deepEqual([...new Uint8Array([1, 2, 3]).slice(1)], [2, 3]);
});
