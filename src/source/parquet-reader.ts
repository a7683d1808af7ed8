/**
 * Reads Parquet files through parquet-wasm on a worker thread (./parquet-read-worker.ts says why):
 * the footer's schema and row-group sizes, then one row group at a time as an Arrow table. When
 * the decoder crashes on corrupt data, the pending read rejects with `ParquetReadError` (`crashed`)
 * and the next request starts a fresh thread, so one bad file never breaks reads of the others.
 */
import { Worker } from "node:worker_threads";
import { tableFromIPC, type Schema, type Table } from "apache-arrow";
import type { ParquetReadReply, ParquetReadRequest } from "./parquet-read-worker.ts";

/** A read that failed: `reason` is a short phrase for the caller's message (which names file and row group). */
export class ParquetReadError extends Error {
  override readonly name = "ParquetReadError";
  constructor(
    readonly reason: string,
    /** The decoder crashed (a wasm trap), as opposed to reporting an error. */
    readonly crashed: boolean,
  ) {
    super(reason);
  }
}

export interface ParquetReaderParams {
  /** Called with every byte range [start, end) fetched from a file (tests check reads stay within a row group). */
  onRead?: (path: string, start: number, end: number) => void;
}

interface Pending {
  path: string;
  resolve(reply: ParquetReadReply & { ok: true }): void;
  reject(error: Error): void;
}

interface Thread {
  thread: Worker;
  /** Settles when the module has loaded; rejects when the thread dies first. */
  ready: Promise<void>;
  fail(error: Error): void;
}

type Request = { op: "open"; path: string } | { op: "read"; path: string; rowGroup: number; columns: string[] };

/** Same boot as the decode pool's workers: tsx registered again in the thread, then the TypeScript module. */
function startWorker(): Worker {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const workerModule = new URL("./parquet-read-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerModule)}); });`;
  return new Worker(boot, { eval: true });
}

export class ParquetReader {
  private worker: Thread | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly params: ParquetReaderParams = {}) {}

  /** Schema and rows per row group, from the footer. */
  async open(path: string): Promise<{ schema: Schema; rowGroupRows: number[] }> {
    const reply = await this.request({ op: "open", path });
    if (reply.op !== "open") throw new Error("Parquet reader thread answered out of turn");
    return { schema: tableFromIPC(reply.schema).schema, rowGroupRows: reply.rowGroupRows };
  }

  /** One row group, only the named columns. */
  async readRowGroup(path: string, rowGroup: number, columns: string[]): Promise<Table> {
    const reply = await this.request({ op: "read", path, rowGroup, columns });
    if (reply.op !== "read") throw new Error("Parquet reader thread answered out of turn");
    return tableFromIPC(reply.ipc);
  }

  /** Ends the thread (and its wasm memory, which grows to the largest row group read and never shrinks). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.thread.terminate();
  }

  private start(): Thread {
    const thread = startWorker();
    let markReady: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => ((markReady = resolve), (fail = reject)));
    ready.catch(() => {}); // seen by the request that awaits it
    const worker: Thread = { thread, ready, fail };
    thread.on("message", (message: ParquetReadReply | "ready") => {
      if (message === "ready") return markReady();
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      this.idle();
      if (!pending) return;
      if (!message.ok) return pending.reject(new ParquetReadError(message.message.trim().split("\n")[0] ?? "unknown error", false));
      for (const [start, end] of message.ranges) this.params.onRead?.(pending.path, start, end);
      pending.resolve(message);
    });
    // An uncaught exception in the thread: parquet-wasm trapped on corrupt data (or ran out of memory).
    thread.on("error", (error: Error) => this.lose(worker, crashReason(error)));
    thread.on("exit", (code) => this.lose(worker, `the Parquet reader thread exited with code ${code}`));
    return worker;
  }

  /** Fails every pending read of a thread that is gone; the next request starts a new one. */
  private lose(worker: Thread, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    void worker.thread.terminate();
    const error = new ParquetReadError(reason, true);
    worker.fail(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /** An idle thread must not keep the process alive (a caller may drop the source half read). */
  private idle(): void {
    if (this.pending.size === 0) this.worker?.thread.unref();
  }

  private async request(request: Request): Promise<ParquetReadReply & { ok: true }> {
    this.worker ??= this.start();
    const worker = this.worker;
    worker.thread.ref();
    const id = this.nextId++;
    const reply = new Promise<ParquetReadReply & { ok: true }>((resolve, reject) => this.pending.set(id, { path: request.path, resolve, reject }));
    try {
      await worker.ready;
      worker.thread.postMessage({ id, ...request } as ParquetReadRequest);
      return await reply;
    } finally {
      this.idle();
    }
  }
}

/** The decoder's trap, said plainly: "unreachable" is what a Rust panic compiles to in WebAssembly. */
function crashReason(error: Error): string {
  const trap = error.message || String(error);
  return error.name === "RuntimeError" ? `corrupt data, the Parquet decoder crashed (wasm trap "${trap}")` : `the Parquet reader thread failed: ${trap}`;
}
