/**
 * Reads a `.npy` file with several reads in flight on libuv's thread pool: the page faults of the
 * fresh buffer (~3.5 ms per MiB on the team's VM, most of a sequential read's time) are then taken
 * on several threads at once. 28,000 x 512 float32: ~0.12 s against ~0.2 s for `readFileSync`.
 */
import { open } from "node:fs/promises";
import { UsageError } from "../common/errors.ts";
import { parseNpy } from "../common/npy.ts";
import type { NpyArray } from "../common/npy.ts";

export interface ReadNpyParallelParams {
  /** The `.npy` file. */
  path: string;
  /** Bytes per read; default 4 MiB. */
  chunkBytes?: number;
  /** Read into a SharedArrayBuffer, so worker threads can work on the array in place. */
  shared?: boolean;
}

export async function readNpyParallel(params: ReadNpyParallelParams): Promise<NpyArray> {
  const { path } = params;
  const chunk = params.chunkBytes ?? 4 << 20;
  let bytes: Uint8Array;
  try {
    const file = await open(path, "r");
    try {
      const size = (await file.stat()).size;
      bytes = new Uint8Array(params.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
      const reads: Promise<unknown>[] = [];
      for (let offset = 0; offset < size; offset += chunk) {
        const length = Math.min(chunk, size - offset);
        reads.push(
          file.read(bytes, offset, length, offset).then(({ bytesRead }) => {
            if (bytesRead !== length) throw new Error(`short read at byte ${offset}`);
          }),
        );
      }
      await Promise.all(reads);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new UsageError(`${path}: cannot read (${(error as Error).message})`);
  }
  return parseNpy(bytes, path);
}
