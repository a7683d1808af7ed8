/**
 * Checks a Parquet file's page index the way a reader that uses it would: every column chunk has
 * an offset index and a column index, and every page location of the offset index points at a
 * page header whose size matches, in row order. DuckDB reads without the page index, so a wrong
 * offset there would go unnoticed by it; the Hub's viewer relies on it for random access
 * (../shared/docs/hf-parquet-and-card.md, "Row groups").
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { decodeThriftStruct, thriftField, type ThriftList, type ThriftStruct } from "./thrift-compact.ts";

function read(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += n;
  }
  return out;
}

const num = (s: ThriftStruct, id: number): number | undefined => {
  const f = thriftField(s, id);
  return f === undefined ? undefined : Number(f.value as number | bigint);
};
const list = (s: ThriftStruct, id: number): ThriftStruct[] => ((thriftField(s, id)?.value as ThriftList | undefined)?.items ?? []) as ThriftStruct[];

/** Problems with the page index of `path` (empty: present and consistent). */
export function checkPageIndex(path: string): string[] {
  const problems: string[] = [];
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const tail = read(fd, size - 8, 8);
    const footerLength = new DataView(tail.buffer).getUint32(0, true);
    const footer = decodeThriftStruct(read(fd, size - 8 - footerLength, footerLength)).struct;
    list(footer, 4).forEach((group, g) => {
      const groupRows = num(group, 3) ?? 0;
      list(group, 1).forEach((chunk, c) => {
        const where = `row group ${g} column ${c}`;
        const offsetIndexAt = num(chunk, 4);
        const offsetIndexLength = num(chunk, 5);
        if (num(chunk, 6) === undefined || num(chunk, 7) === undefined) problems.push(`${where}: no column index`);
        if (offsetIndexAt === undefined || offsetIndexLength === undefined) {
          problems.push(`${where}: no offset index`);
          return;
        }
        const index = decodeThriftStruct(read(fd, offsetIndexAt, offsetIndexLength)).struct;
        const meta = thriftField(chunk, 3)?.value as ThriftStruct | undefined;
        const locations = list(index, 1);
        if (locations.length === 0) problems.push(`${where}: offset index lists no page`);
        if (meta && locations[0] && num(locations[0], 1) !== num(meta, 9)) {
          problems.push(`${where}: first page at ${num(locations[0], 1)}, column metadata says ${num(meta, 9)}`);
        }
        let previousRow = -1;
        for (const location of locations) {
          const at = num(location, 1)!;
          const pageSize = num(location, 2)!;
          const firstRow = num(location, 3)!;
          if (firstRow <= previousRow || firstRow >= groupRows) problems.push(`${where}: page first_row_index ${firstRow} out of order`);
          previousRow = firstRow;
          const bytes = read(fd, at, Math.min(pageSize, 256 * 1024));
          let header: ThriftStruct;
          let headerLength: number;
          try {
            const decoded = decodeThriftStruct(bytes);
            header = decoded.struct;
            headerLength = decoded.end;
          } catch {
            problems.push(`${where}: no page header at offset ${at}`);
            break;
          }
          // PageHeader: 1 type, 3 compressed_page_size; the location's size includes the header.
          if ((num(header, 3) ?? -1) + headerLength !== pageSize) {
            problems.push(`${where}: page at ${at} is ${(num(header, 3) ?? 0) + headerLength} bytes, the offset index says ${pageSize}`);
            break;
          }
        }
      });
    });
  } finally {
    closeSync(fd);
  }
  return problems;
}
