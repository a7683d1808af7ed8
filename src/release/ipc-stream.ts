/**
 * An Arrow IPC stream (schema, one record batch, end of stream) for one record batch, byte for byte
 * what apache-arrow's `tableToIPC(new Table([batch]), "stream")` writes, but assembled in a single
 * buffer: the body buffers are copied once, where `tableToIPC` queues them as chunks and then joins
 * the chunks (a second copy of every image). Framing as in apache-arrow's RecordBatchWriter:
 * continuation marker, metadata length, flatbuffer padded to 8 bytes, body buffers at their regions.
 */
import { Table, tableToIPC } from "apache-arrow";
import type { RecordBatch, Schema } from "apache-arrow";
import { Message, RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message";
import { VectorAssembler } from "apache-arrow/visitor/vectorassembler";

const schemaMessages = new WeakMap<Schema, Uint8Array>();

/** The schema message of a stream (an empty table's stream less its 8-byte end marker). */
function schemaMessage(schema: Schema): Uint8Array {
  let bytes = schemaMessages.get(schema);
  if (!bytes) {
    const stream = tableToIPC(new Table(schema), "stream");
    const end = stream.subarray(stream.length - 8);
    if (!end.every((b, i) => b === (i < 4 ? 0xff : 0))) throw new Error("unexpected Arrow IPC stream ending");
    bytes = stream.slice(0, stream.length - 8);
    schemaMessages.set(schema, bytes);
  }
  return bytes;
}

/**
 * A buffer to write into, reused from call to call: allocating a fresh multi-megabyte buffer per
 * row group costs more than the copy itself (page faults and zeroing of new memory).
 */
export class IpcScratch {
  private buffer = new Uint8Array(0);
  get(size: number): Uint8Array {
    if (this.buffer.length < size) this.buffer = new Uint8Array(Math.ceil(size * 1.25));
    return this.buffer.subarray(0, size);
  }
}

/**
 * The stream bytes. With `scratch`, they live in its reused buffer: valid until the next call with
 * the same scratch (parquet-wasm copies its input, so that is long enough).
 */
export function ipcStreamOf(batch: RecordBatch, scratch?: IpcScratch): Uint8Array {
  const prefix = schemaMessage(batch.schema);
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = VectorAssembler.assemble(batch);
  const header = new RecordBatchHeader(batch.numRows, nodes, bufferRegions, null, variadicBufferCounts, batch.metadata);
  const metadata = Message.encode(Message.from(header, byteLength));
  const aligned = (metadata.length + 8 + 7) & ~7;
  const total = prefix.length + aligned + byteLength + 8;
  const out = scratch ? scratch.get(total) : new Uint8Array(total);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(prefix, 0);
  let at = prefix.length;
  view.setInt32(at, -1, true);
  view.setInt32(at + 4, aligned - 8, true);
  out.set(metadata, at + 8);
  at += aligned;
  if (scratch) out.fill(0, at, total); // padding bytes, as a fresh buffer would have them
  buffers.forEach((buffer, i) => {
    out.set(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), at + bufferRegions[i]!.offset);
  });
  view.setInt32(total - 8, -1, true);
  view.setInt32(total - 4, 0, true);
  return out;
}
