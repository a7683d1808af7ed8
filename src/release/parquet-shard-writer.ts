/**
 * Writes one Parquet shard row group by row group, with memory bounded by one row group whatever
 * the shard size.
 *
 * parquet-wasm encodes a whole Arrow table per `writeParquet` call and its streaming writer
 * (`transformParquetStream`) keeps growing its WebAssembly memory with the file (measured: 536 MB
 * of wasm memory for a 504 MB shard, 1 GB for 1 GB). So each row group is encoded by parquet-wasm
 * as a small standalone Parquet file, and its bytes are spliced into the shard: the column chunks
 * are appended as they are, the byte offsets in its footer and offset index are shifted to their
 * new place, the column indexes are copied, and one footer for all row groups closes the file.
 * Every page, dictionary, statistic and the `ARROW:schema` entry is parquet-wasm's own encoding.
 *
 * Layout written (as parquet-rs lays out a file): `PAR1`, row groups, column indexes, offset
 * indexes, footer (Thrift `FileMetaData`), footer length, `PAR1`.
 * Format: https://github.com/apache/parquet-format (FileMetaData, ColumnChunk, OffsetIndex).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Table, tableToIPC } from "apache-arrow";
import type { RecordBatch, Schema } from "apache-arrow";
import { Table as WasmTable, writeParquet } from "parquet-wasm";
import { ipcStreamOf } from "./ipc-stream.ts";
import type { WriterProperties } from "parquet-wasm";
import {
  decodeThriftStruct,
  encodeThriftStruct,
  shiftI64Field,
  thriftField,
  ThriftType,
  type ThriftList,
  type ThriftStruct,
} from "./thrift-compact.ts";

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

// Thrift field ids of parquet-format's parquet.thrift.
const FileMetaDataField = { numRows: 3, rowGroups: 4 } as const;
const RowGroupField = { columns: 1, fileOffset: 5, ordinal: 7 } as const;
const ColumnChunkField = { fileOffset: 2, metaData: 3, offsetIndexOffset: 4, offsetIndexLength: 5, columnIndexOffset: 6, columnIndexLength: 7 } as const;
const ColumnMetaDataField = { dataPageOffset: 9, indexPageOffset: 10, dictionaryPageOffset: 11, bloomFilterOffset: 14 } as const;
const OffsetIndexField = { pageLocations: 1 } as const;
const PageLocationField = { offset: 1 } as const;

export interface ParquetShardWriterParams {
  /** File to create (truncated). */
  path: string;
  /** Arrow schema of every batch (used for an empty shard). */
  schema: Schema;
  /** Fresh writer properties for each row group (parquet-wasm consumes them). */
  writerProperties: () => WriterProperties;
}

interface PendingIndexes {
  /** Per column: column index bytes (copied as they are), or null. */
  columnIndexes: (Uint8Array | null)[];
  /** Per column: offset index, offsets already shifted, or null. */
  offsetIndexes: (ThriftStruct | null)[];
}

function readFooter(file: Uint8Array): { footer: ThriftStruct; footerStart: number } {
  const n = file.length;
  if (n < 12 || file[n - 4] !== 0x50 || file[n - 3] !== 0x41 || file[n - 2] !== 0x52 || file[n - 1] !== 0x31) {
    throw new Error("parquet-wasm output does not end with PAR1");
  }
  const length = new DataView(file.buffer, file.byteOffset + n - 8, 4).getUint32(0, true);
  const footerStart = n - 8 - length;
  return { footer: decodeThriftStruct(file, footerStart).struct, footerStart };
}

function listOf(struct: ThriftStruct, id: number): ThriftList {
  const field = thriftField(struct, id);
  if (!field || field.type !== ThriftType.list) throw new Error(`parquet footer: field ${id} is not a list`);
  return field.value as ThriftList;
}

function i64(struct: ThriftStruct, id: number): bigint | undefined {
  const field = thriftField(struct, id);
  return field ? BigInt(field.value as bigint | number) : undefined;
}

function setField(struct: ThriftStruct, id: number, type: number, value: bigint | number): void {
  const existing = thriftField(struct, id);
  if (existing) {
    existing.type = type;
    existing.value = value;
    return;
  }
  struct.fields.push({ id, type, value });
  struct.fields.sort((a, b) => a.id - b.id);
}

export class ParquetShardWriter {
  private readonly fd: number;
  /** The write in flight: the disk write of row group k overlaps the encoding of row group k + 1. */
  private pendingWrite: Promise<void> = Promise.resolve();
  private handle: FileHandle | undefined;
  private position = 0n;
  private template: ThriftStruct | undefined;
  private readonly rowGroups: ThriftStruct[] = [];
  private readonly indexes: PendingIndexes[] = [];
  private rows = 0;
  private closed = false;

  constructor(private readonly params: ParquetShardWriterParams) {
    this.fd = openSync(params.path, "w");
    this.write(MAGIC);
  }

  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, Number(this.position) + done);
    this.position += BigInt(bytes.length);
  }

  /** Starts writing `bytes` at the current end once the previous write is done; does not wait for it. */
  private async writeBehind(bytes: Uint8Array): Promise<void> {
    const at = Number(this.position);
    this.position += BigInt(bytes.length);
    const previous = this.pendingWrite;
    this.pendingWrite = (async () => {
      await previous;
      this.handle ??= await open(this.params.path, "r+");
      let done = 0;
      while (done < bytes.length) done += (await this.handle.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
    })();
    await previous;
  }

  private async flush(): Promise<void> {
    await this.pendingWrite;
    await this.handle?.close();
    this.handle = undefined;
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.rows;
  }

  /**
   * Appends `batch` as one row group (empty batches are skipped). Resolves once the previous row
   * group is on its way to disk, so at most one encoded row group waits in memory.
   */
  async writeRowGroup(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const encoded = writeParquet(WasmTable.fromIPCStream(ipcStreamOf(batch)), this.params.writerProperties());
    await this.appendEncoded(encoded, batch.numRows);
  }

  /** Appends a row group already encoded as a one-row-group Parquet file (`encodeRowGroup`). */
  async appendEncoded(encoded: Uint8Array, numRows: number): Promise<void> {
    if (this.closed) throw new Error(`${this.params.path} is closed`);
    const { footer, footerStart } = readFooter(encoded);
    const groups = listOf(footer, FileMetaDataField.rowGroups).items as ThriftStruct[];
    if (groups.length !== 1) throw new Error(`parquet-wasm wrote ${groups.length} row groups for one batch; set max row group size >= the batch`);
    const group = groups[0]!;
    const chunks = listOf(group, RowGroupField.columns).items as ThriftStruct[];

    // Column chunk bytes run from after "PAR1" to the first page index (or the footer).
    let dataEnd = BigInt(footerStart);
    for (const chunk of chunks) {
      for (const id of [ColumnChunkField.columnIndexOffset, ColumnChunkField.offsetIndexOffset]) {
        const offset = i64(chunk, id);
        if (offset !== undefined && offset < dataEnd) dataEnd = offset;
      }
      const meta = thriftField(chunk, ColumnChunkField.metaData)?.value as ThriftStruct | undefined;
      const bloom = meta && i64(meta, ColumnMetaDataField.bloomFilterOffset);
      if (bloom !== undefined && bloom < dataEnd) dataEnd = bloom;
    }
    const shift = this.position - 4n;

    const pending: PendingIndexes = { columnIndexes: [], offsetIndexes: [] };
    for (const chunk of chunks) {
      const columnIndexOffset = i64(chunk, ColumnChunkField.columnIndexOffset);
      const columnIndexLength = i64(chunk, ColumnChunkField.columnIndexLength);
      pending.columnIndexes.push(
        columnIndexOffset !== undefined && columnIndexLength !== undefined
          ? encoded.slice(Number(columnIndexOffset), Number(columnIndexOffset + columnIndexLength))
          : null,
      );
      const offsetIndexOffset = i64(chunk, ColumnChunkField.offsetIndexOffset);
      if (offsetIndexOffset !== undefined) {
        const offsetIndex = decodeThriftStruct(encoded, Number(offsetIndexOffset)).struct;
        for (const location of listOf(offsetIndex, OffsetIndexField.pageLocations).items as ThriftStruct[]) {
          shiftI64Field(location, PageLocationField.offset, shift);
        }
        pending.offsetIndexes.push(offsetIndex);
      } else {
        pending.offsetIndexes.push(null);
      }
      shiftI64Field(chunk, ColumnChunkField.fileOffset, shift);
      const meta = thriftField(chunk, ColumnChunkField.metaData)?.value as ThriftStruct | undefined;
      if (meta) {
        for (const id of [ColumnMetaDataField.dataPageOffset, ColumnMetaDataField.indexPageOffset, ColumnMetaDataField.dictionaryPageOffset]) {
          shiftI64Field(meta, id, shift);
        }
        if (thriftField(meta, ColumnMetaDataField.bloomFilterOffset)) throw new Error("bloom filters are not supported by the shard writer");
      }
    }
    shiftI64Field(group, RowGroupField.fileOffset, shift);
    if (thriftField(group, RowGroupField.ordinal)) setField(group, RowGroupField.ordinal, ThriftType.i16, this.rowGroups.length);

    this.template ??= footer;
    this.rowGroups.push(group);
    this.indexes.push(pending);
    this.rows += numRows;
    await this.writeBehind(encoded.subarray(4, Number(dataEnd)));
  }

  /** Writes the page indexes and the footer; returns the file size in bytes. */
  async close(): Promise<number> {
    if (this.closed) throw new Error(`${this.params.path} is already closed`);
    this.closed = true;
    try {
      await this.flush();
      if (!this.template) {
        // No rows: parquet-wasm's own file for an empty table is the whole shard.
        const empty = writeParquet(WasmTable.fromIPCStream(tableToIPC(new Table(this.params.schema), "stream")), this.params.writerProperties());
        this.write(empty.subarray(4));
        return Number(this.position);
      }
      this.rowGroups.forEach((group, g) => {
        const chunks = listOf(group, RowGroupField.columns).items as ThriftStruct[];
        chunks.forEach((chunk, c) => {
          const bytes = this.indexes[g]!.columnIndexes[c];
          if (!bytes) return;
          setField(chunk, ColumnChunkField.columnIndexOffset, ThriftType.i64, this.position);
          setField(chunk, ColumnChunkField.columnIndexLength, ThriftType.i32, bytes.length);
          this.write(bytes);
        });
      });
      this.rowGroups.forEach((group, g) => {
        const chunks = listOf(group, RowGroupField.columns).items as ThriftStruct[];
        chunks.forEach((chunk, c) => {
          const index = this.indexes[g]!.offsetIndexes[c];
          if (!index) return;
          const bytes = encodeThriftStruct(index);
          setField(chunk, ColumnChunkField.offsetIndexOffset, ThriftType.i64, this.position);
          setField(chunk, ColumnChunkField.offsetIndexLength, ThriftType.i32, bytes.length);
          this.write(bytes);
        });
      });
      const footer = this.template;
      setField(footer, FileMetaDataField.numRows, ThriftType.i64, BigInt(this.rows));
      const rowGroupsField = thriftField(footer, FileMetaDataField.rowGroups)!;
      rowGroupsField.value = { elementType: ThriftType.struct, items: this.rowGroups };
      const footerBytes = encodeThriftStruct(footer);
      this.write(footerBytes);
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, footerBytes.length, true);
      this.write(length);
      this.write(MAGIC);
      return Number(this.position);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Closes the file without finishing it (after a failure). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch(() => undefined);
    closeSync(this.fd);
  }
}
