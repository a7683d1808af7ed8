/** Worker thread body of `RowGroupEncoderPool`: encodes row groups with parquet-wasm off the main thread. */
import { parentPort } from "node:worker_threads";
import { encodeRowGroup, type RowGroupEncoding } from "./encode-row-group.ts";
import { IpcScratch } from "./ipc-stream.ts";
import type { PackedRowGroup } from "./release-schema.ts";

export interface EncodeRequest {
  id: number;
  encoding: RowGroupEncoding;
  packed: PackedRowGroup;
}

export type EncodeReply = { id: number; ok: true; bytes: Uint8Array } | { id: number; ok: false; message: string };

const port = parentPort;
const scratch = new IpcScratch();
if (port) {
  port.on("message", (request: EncodeRequest) => {
    try {
      const bytes = encodeRowGroup(request.encoding, request.packed, scratch);
      port.postMessage({ id: request.id, ok: true, bytes } satisfies EncodeReply, [bytes.buffer as ArrayBuffer]);
    } catch (error) {
      port.postMessage({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies EncodeReply);
    }
  });
  port.postMessage("ready");
}
