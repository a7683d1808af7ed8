/**
 * Reads a `.npy` file with several reads in flight on libuv's thread pool: the page faults of the
 * fresh buffer (~3.5 ms per MiB on the team's VM, most of a sequential read's time) are then taken
 * on several threads at once. 28,000 x 512 float32: ~0.12 s against ~0.2 s for `readFileSync`.
 * The reads are issued before this function returns, so the caller's next synchronous work (the
 * cluster stage loads onnxruntime) overlaps them.
 */
import { close, fstatSync, openSync, read } from "node:fs";
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

export function readNpyParallel(params: ReadNpyParallelParams): Promise<NpyArray> {
  const { path } = params;
  const chunk = params.chunkBytes ?? 4 << 20;
  const cannotRead = (error: unknown) => new UsageError(`${path}: cannot read (${(error as Error).message})`);
  let fd: number;
  let bytes: Uint8Array;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    bytes = new Uint8Array(params.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  } catch (error) {
    return Promise.reject(cannotRead(error));
  }
  const reads: Promise<void>[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const length = Math.min(chunk, bytes.length - offset);
    reads.push(
      new Promise((resolve, reject) =>
        read(fd, bytes, offset, length, offset, (error, bytesRead) => {
          if (error) reject(error);
          else if (bytesRead !== length) reject(new Error(`short read at byte ${offset}`));
          else resolve();
        }),
      ),
    );
  }
  // Every read settles before the descriptor is closed.
  return Promise.allSettled(reads).then((results) => {
    close(fd, () => {});
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure) throw cannotRead(failure.reason);
    return parseNpy(bytes, path);
  });
}
