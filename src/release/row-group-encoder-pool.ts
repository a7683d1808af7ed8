/**
 * Encodes row groups on worker threads, so a shard's row groups are encoded in parallel while the
 * main thread splices finished ones into the file in order. With 0 workers everything runs on the
 * main thread. Either way the bytes are the same (encodeRowGroup is deterministic).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { encodeRowGroup, type RowGroupEncoding } from "./encode-row-group.ts";
import { IpcScratch } from "./ipc-stream.ts";
import { transferablesOf, type ByteScratch, type PackedRowGroup } from "./release-schema.ts";
import type { EncodeReply, EncodeRequest } from "./row-group-encoder-worker.ts";

/**
 * cores - 1, at most 4, from 4 cores up; none below. Measured on the 2-core dev box, a worker was
 * slower than inline encoding (118 vs 165 MB of images per CPU-second: transferred buffers are
 * fresh allocations, inline encoding reuses its buffers), so workers only pay with idle cores to spare.
 */
export function defaultEncodeWorkers(): number {
  const cores = availableParallelism();
  return cores < 4 ? 0 : Math.min(4, cores - 1);
}

/** Workers load the TypeScript module through tsx, registered again in each worker (as the embed stage's decode pool does). */
function startWorker(): Worker {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const workerModule = new URL("./row-group-encoder-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerModule)}); });`;
  return new Worker(boot, { eval: true });
}

interface Slot {
  worker: Worker;
  inFlight: number;
  ready: Promise<void>;
}

export class RowGroupEncoderPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve(bytes: Uint8Array): void; reject(error: Error): void }>();
  private nextId = 0;
  /** Set when a worker died: every later request fails with it instead of waiting forever. */
  private failure: Error | undefined;
  private readonly ipcScratch = new IpcScratch();
  private readonly packScratch = new IpcScratch();
  /**
   * Inline encoding writes each encoded row group into one of two reused buffers, in turn: the
   * caller appends row group k (its disk write still in flight) before k + 1 is encoded, and
   * appending k + 1 waits for k's write, so k's buffer is free again when k + 2 is encoded.
   */
  private readonly outputScratches = [new IpcScratch(), new IpcScratch()] as const;
  private encodedInline = 0;

  constructor(workers = defaultEncodeWorkers()) {
    for (let i = 0; i < workers; i++) {
      const worker = startWorker();
      let markReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => (markReady = resolve));
      const slot: Slot = { worker, inFlight: 0, ready };
      worker.on("message", (message: EncodeReply | "ready") => {
        if (message === "ready") return markReady();
        slot.inFlight--;
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.bytes);
        else waiter?.reject(new Error(`row group encoding failed: ${message.message}`));
      });
      worker.on("error", (error) => {
        this.failure ??= error;
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
      this.slots.push(slot);
    }
  }

  /** Worker threads in use (0: inline). */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Where `packRowGroup` may put the image bytes: a reused buffer when encoding inline (the packed
   * row group is consumed before the next one is packed), none with workers (buffers are transferred).
   */
  get packingScratch(): ByteScratch | undefined {
    return this.slots.length === 0 ? this.packScratch : undefined;
  }

  /**
   * Encodes a packed row group; its buffers are transferred to the worker (unusable afterwards).
   * Inline, the result is valid until the second next call: append it (and let the shard writer
   * finish writing it) before then, as writeReleaseShards does.
   */
  async encode(encoding: RowGroupEncoding, packed: PackedRowGroup): Promise<Uint8Array> {
    if (this.slots.length === 0) return encodeRowGroup(encoding, packed, this.ipcScratch, this.outputScratches[this.encodedInline++ % 2]);
    if (this.failure) throw this.failure;
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    await slot.ready;
    slot.inFlight++;
    const id = this.nextId++;
    const reply = new Promise<Uint8Array>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    slot.worker.postMessage({ id, encoding, packed } satisfies EncodeRequest, transferablesOf(packed));
    return reply;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
