/**
 * Worker thread body of `ParquetReader`: opens Parquet files with parquet-wasm and reads one row
 * group at a time, handing back Arrow IPC bytes. It runs apart from the main thread because a
 * corrupt page makes parquet-wasm panic: the WebAssembly trap ("unreachable") is thrown from a
 * callback of its own, so it escapes as an uncaught exception, the read's promise never settles,
 * and the wasm instance may be left mid-operation. Here that kills only this thread; the main
 * thread gets an error it can name the file and row group in, and a fresh thread for later reads.
 */
import { openAsBlob } from "node:fs";
import { parentPort } from "node:worker_threads";
import { ParquetFile } from "parquet-wasm";

export type ParquetReadRequest =
  | { id: number; op: "open"; path: string }
  | { id: number; op: "read"; path: string; rowGroup: number; columns: string[] };

/** Byte ranges [start, end) fetched from the file while answering (tests check reads stay within a row group). */
export type ByteRanges = [number, number][];

export type ParquetReadReply =
  | { id: number; ok: true; op: "open"; schema: Uint8Array; rowGroupRows: number[]; ranges: ByteRanges }
  | { id: number; ok: true; op: "read"; ipc: Uint8Array; ranges: ByteRanges }
  | { id: number; ok: false; message: string };

let current: { path: string; file: ParquetFile } | undefined;
let ranges: ByteRanges = [];

/** The open file, reopened only when the path changes (a shard is read group after group). */
async function fileAt(path: string): Promise<ParquetFile> {
  if (current?.path === path) return current.file;
  current?.file.free();
  current = undefined;
  const blob = await openAsBlob(path);
  // parquet-wasm only asks for `size` and `slice`: fetched ranges are recorded on the way.
  const handle = {
    size: blob.size,
    slice(start?: number, end?: number): Blob {
      ranges.push([start ?? 0, end ?? blob.size]);
      return blob.slice(start, end);
    },
  };
  current = { path, file: await ParquetFile.fromFile(handle as unknown as Blob) };
  return current.file;
}

async function answer(request: ParquetReadRequest): Promise<ParquetReadReply> {
  ranges = [];
  const file = await fileAt(request.path);
  if (request.op === "open") {
    const metadata = file.metadata();
    const rowGroupRows = metadata.rowGroups().map((group) => Number(group.numRows()));
    return { id: request.id, ok: true, op: "open", schema: file.schema().intoIPCStream(), rowGroupRows, ranges };
  }
  const table = await file.read({ rowGroups: [request.rowGroup], columns: request.columns });
  return { id: request.id, ok: true, op: "read", ipc: table.intoIPCStream(), ranges };
}

const port = parentPort;
if (port) {
  // One request at a time: parquet-wasm's file handle is not meant for concurrent reads.
  let queue = Promise.resolve();
  port.on("message", (request: ParquetReadRequest) => {
    queue = queue.then(async () => {
      let reply: ParquetReadReply;
      try {
        reply = await answer(request);
      } catch (error) {
        // Ordinary failures (bad footer, unknown column, short file) come back as rejections.
        if (current?.path === request.path) {
          current.file.free();
          current = undefined;
        }
        reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
      }
      const transfer = reply.ok ? [reply.op === "open" ? reply.schema.buffer : reply.ipc.buffer] : [];
      port.postMessage(reply, transfer as ArrayBuffer[]);
    });
  });
  port.postMessage("ready");
}
