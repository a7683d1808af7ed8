import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./errors.ts";
import { NpyWriter, encodeNpy, int64Array, parseNpy, readNpy, readNpyHeader, writeNpy } from "./npy.ts";

const python = "/usr/bin/python3";
const hasNumpy = spawnSync(python, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "npy-spec-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("round-trips every dtype and keeps shape and values", () => {
  const arrays = [
    { shape: [2, 3], data: Float32Array.from([1.5, -2, 3, 0, 1e-30, -0]) },
    { shape: [3], data: Float64Array.from([Math.PI, -1e300, 0.1]) },
    { shape: [2, 1, 2], data: BigInt64Array.from([1n, -1n, 2n ** 62n, 0n]) },
    { shape: [4], data: Int32Array.from([7, -8, 2 ** 31 - 1, 0]) },
    { shape: [0, 512], data: new Float32Array(0) },
  ];
  for (const array of arrays) {
    const bytes = encodeNpy(array);
    // the data starts on a 64-byte boundary, as numpy writes it
    assert.equal((bytes.length - array.data.byteLength) % 64, 0);
    const back = parseNpy(bytes);
    assert.deepEqual(back.shape, array.shape);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(array.data as ArrayLike<unknown>));
  }
});

test("reads what numpy writes and numpy reads what we write", { skip: !hasNumpy && "no numpy in /usr/bin/python3" }, () => {
  withDir((dir) => {
    const fromPython = join(dir, "py.npy");
    const ours = join(dir, "ours.npy");
    const run = spawnSync(python, ["-c", `import numpy as np; np.save("${fromPython}", np.arange(12, dtype=np.float64).reshape(3, 4) / 7)`]);
    assert.equal(run.status, 0, String(run.stderr));
    const read = readNpy(fromPython);
    assert.equal(read.dtype, "float64");
    assert.deepEqual(read.shape, [3, 4]);
    assert.equal((read.data as Float64Array)[5], 5 / 7);

    writeNpy(ours, { shape: [3], data: int64Array([5, -1, 9]) });
    const check = spawnSync(python, ["-c", `import numpy as np; a = np.load("${ours}"); print(a.dtype, a.shape, a.tolist())`], { encoding: "utf8" });
    assert.equal(check.stdout.trim(), "int64 (3,) [5, -1, 9]");
  });
});

test("NpyWriter appends rows and rewrites the row count on close", () => {
  withDir((dir) => {
    const path = join(dir, "grow.npy");
    const writer = new NpyWriter({ path, dtype: "float32", rowShape: [2] });
    writer.append(Float32Array.from([1, 2]));
    writer.append(Float32Array.from([3, 4, 5, 6]));
    assert.throws(() => writer.append(Float32Array.from([1])), /whole number of rows/);
    assert.throws(() => writer.append(Float64Array.from([1, 2])), /holds float32/);
    writer.close();
    assert.deepEqual(readNpyHeader(path), { dtype: "float32", shape: [3, 2] });
    assert.deepEqual(Array.from(readNpy(path).data as Float32Array), [1, 2, 3, 4, 5, 6]);
  });
});

test("bad files give a UsageError naming the file and the problem", () => {
  const good = encodeNpy({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
  const text = Buffer.from(good).toString("latin1");
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 3), /truncated .npy file: shape \(2, 2\) needs 16 data bytes, found 13/],
    [good.subarray(0, 9), /not a .npy file|truncated/],
    [Buffer.from("hello world, not numpy"), /not a .npy file/],
    [Buffer.from(text.replace("'<f4'", "'>f4'"), "latin1"), /unsupported dtype '>f4'/],
    [Buffer.from(text.replace("'<f4'", "'<f2'"), "latin1"), /unsupported dtype '<f2'/],
    [Buffer.from(text.replace("False", "True "), "latin1"), /Fortran order/],
    [Uint8Array.from([...good, 0, 0, 0, 0]), /4 unexpected bytes/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => parseNpy(bytes, "x.npy"),
      (error: unknown) => error instanceof UsageError && error.message.startsWith("x.npy: ") && message.test(error.message),
    );
  }
  withDir((dir) => {
    const path = join(dir, "cut.npy");
    writeFileSync(path, good.subarray(0, 70));
    assert.throws(() => readNpy(path), new RegExp(`${path}: truncated`));
    assert.throws(() => readNpy(join(dir, "missing.npy")), /cannot read/);
    assert.throws(() => readNpyHeader(join(dir, "missing.npy")), (e: unknown) => e instanceof UsageError && /missing\.npy: cannot read/.test(e.message));
    assert.equal(readFileSync(path).length, 70);
  });
});
