/**
 * Worker thread body of `DecodePool`: decodes images with sharp off the main thread, so the main
 * thread stays free to feed the face engine while the next batch is being decoded.
 */
import { parentPort } from "node:worker_threads";
import { decodeImage, ImageDecodeError, type DecodeImageParams } from "../source/index.ts";

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  options: DecodeImageParams;
}

export type DecodeReply =
  | { id: number; ok: true; data: Uint8Array; width: number; height: number }
  | { id: number; ok: false; reason: string };

const port = parentPort;
if (port) {
  port.on("message", (request: DecodeRequest) => {
    decodeImage(request.bytes, { ...request.options, transferable: true }).then(
      (image) => {
        const reply: DecodeReply = { id: request.id, ok: true, data: image.data, width: image.width, height: image.height };
        port.postMessage(reply, [image.data.buffer as ArrayBuffer]);
      },
      (error: unknown) => {
        const reason = error instanceof ImageDecodeError ? error.reason : `decode failed: ${String(error)}`;
        port.postMessage({ id: request.id, ok: false, reason } satisfies DecodeReply);
      },
    );
  });
  port.postMessage("ready");
}
