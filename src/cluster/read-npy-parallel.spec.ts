import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../common/errors.ts";
import { writeNpy } from "../common/npy.ts";
import { readNpyParallel } from "./read-npy-parallel.ts";

test("parallel chunk reads give back the array written, whatever the chunk size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idclusters-read-npy-"));
  try {
    const path = join(dir, "x.npy");
    const data = Float32Array.from({ length: 3 * 5 }, (_, i) => i * 0.5 - 3);
    writeNpy(path, { shape: [3, 5], data });
    for (const chunkBytes of [7, 64, 1 << 20]) {
      const array = await readNpyParallel({ path, chunkBytes });
      assert.equal(array.dtype, "float32");
      assert.deepEqual(array.shape, [3, 5]);
      assert.deepEqual(Array.from(array.data as Float32Array), Array.from(data));
    }
    const shared = await readNpyParallel({ path, shared: true });
    assert.ok(shared.data.buffer instanceof SharedArrayBuffer, "shared: true reads into a SharedArrayBuffer");
    assert.deepEqual(Array.from(shared.data as Float32Array), Array.from(data));
    writeFileSync(join(dir, "bad.npy"), "not an npy file at all");
    await assert.rejects(readNpyParallel({ path: join(dir, "bad.npy") }), UsageError);
    await assert.rejects(readNpyParallel({ path: join(dir, "missing.npy") }), /missing\.npy: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
