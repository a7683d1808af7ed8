/**
 * A small pool of worker threads that decode images (`decodeImage`) in parallel with inference.
 * The caller bounds the decoded bytes in flight (the embed stage admits rows against a byte
 * budget), so memory stays bounded; the pool itself just spreads requests over its workers.
 * Large images are decoded on this thread instead (sharp still decodes them on libuv's threads):
 * a worker hands pixels over only as a copy, twice the image's memory, which sits in the worker
 * until its next garbage collection, and for a large image the copy costs more than the worker saves.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { RgbImage } from "../common/image.ts";
import { decodeImage, ImageDecodeError, type DecodeImageParams } from "../source/index.ts";
import type { DecodeReply, DecodeRequest } from "./decode-worker.ts";

export interface DecodePoolParams {
  /** Worker threads; 0 decodes on the main thread (sharp still uses libuv threads). */
  workers?: number;
  /** Decode options (pixel limit, strictness). */
  options?: DecodeImageParams;
}

/**
 * Default worker count: cores - 1 (one left to the engine), at most 4; none on 1-2 cores. sharp
 * already decodes on libuv's thread pool, so workers only take the JS side of decoding (and the
 * pixel copies) off the main thread; on a 2-core machine an extra thread measured no faster.
 */
export function defaultDecodeWorkers(): number {
  const cores = availableParallelism();
  return cores <= 2 ? 0 : Math.min(4, cores - 1);
}

/**
 * Decoded size from which an image is decoded on the calling thread: 32 MiB, about 11 megapixels,
 * far above face datasets' images (0.25-1 Mpx), which keep the workers.
 */
export const INLINE_DECODE_BYTES = 32 * 2 ** 20;

interface Pending {
  resolve(image: RgbImage): void;
  reject(error: Error): void;
}

/**
 * Workers load the TypeScript worker module through tsx: the CLI registers tsx with its module API
 * (which worker threads do not inherit), so each worker registers it again before importing.
 */
function startWorker(): Worker {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const workerModule = new URL("./decode-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerModule)}); });`;
  return new Worker(boot, { eval: true });
}

export class DecodePool {
  private readonly workers: { worker: Worker; inFlight: number; ready: Promise<void> }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private readonly options: DecodeImageParams;

  constructor(params: DecodePoolParams = {}) {
    this.options = params.options ?? {};
    const count = params.workers ?? defaultDecodeWorkers();
    for (let i = 0; i < count; i++) {
      const worker = startWorker();
      let markReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => (markReady = resolve));
      const slot = { worker, inFlight: 0, ready };
      worker.on("message", (message: DecodeReply | "ready") => {
        if (message === "ready") return markReady();
        slot.inFlight--;
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!pending) return;
        if (message.ok) pending.resolve({ data: message.data, width: message.width, height: message.height });
        else pending.reject(new ImageDecodeError(message.reason));
      });
      worker.on("error", (error) => this.fail(error));
      worker.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`decode worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /**
   * Decodes one image; rejects with `ImageDecodeError` (bad image) or another error (pool broken).
   * `decodedBytes` (from `decodedByteSize`) sends a large image to the calling thread.
   */
  async decode(bytes: Uint8Array, decodedBytes = 0): Promise<RgbImage> {
    if (this.failure) throw this.failure;
    if (this.workers.length === 0 || decodedBytes >= INLINE_DECODE_BYTES) return decodeImage(bytes, this.options);
    const slot = this.workers.reduce((best, s) => (s.inFlight < best.inFlight ? s : best));
    slot.inFlight++;
    const id = this.nextId++;
    // The worker gets its own copy: `bytes` may be a view into a whole Parquet row group.
    const copy = bytes.slice();
    const request: DecodeRequest = { id, bytes: copy, options: this.options };
    const result = new Promise<RgbImage>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    await slot.ready;
    slot.worker.postMessage(request, [copy.buffer]);
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.worker.terminate()));
    this.workers.length = 0;
  }
}
