import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPageIndex } from "./check-page-index.ts";
import { ArrowSizeCounter, CORE_COLUMNS, type ReleaseRow } from "./release-schema.ts";
import { decodeThriftStruct, encodeThriftStruct, thriftField, type ThriftList, type ThriftStruct } from "./thrift-compact.ts";
import { writeReleaseShards } from "./write-release-shards.ts";

test("spliced shards carry a page index whose offsets hit the pages; a misplaced offset index is caught", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-page-index-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rows: ReleaseRow[] = Array.from({ length: 30 }, (_, i) => ({
    image: { bytes: Uint8Array.from({ length: 300_000 + i }, (_, j) => (i + j * 13) & 255), path: `${i}.jpg` },
    file_name: `${i}.jpg`,
    cluster_id: i % 3,
    cluster_size: 10,
  }));
  const counter = new ArrowSizeCounter(CORE_COLUMNS);
  rows.forEach((r) => counter.add(r));
  const info = await writeReleaseShards({ outDir: dir, split: "train", columns: CORE_COLUMNS, rows, numRows: 30, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 10, encodeWorkers: 0 });
  const file = join(dir, info.shards[0]!.path);
  assert.deepEqual(checkPageIndex(file), []);

  // Point row group 1's first offset index at row group 0's: its pages are elsewhere.
  const bytes = new Uint8Array(await readFile(file));
  const length = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
  const footer = decodeThriftStruct(bytes, bytes.length - 8 - length).struct;
  const groups = (thriftField(footer, 4)!.value as ThriftList).items as ThriftStruct[];
  const chunk = (g: number) => ((thriftField(groups[g]!, 1)!.value as ThriftList).items as ThriftStruct[])[0]!;
  assert.ok(((thriftField(chunk(0), 4)!.value as bigint) > 0n));
  thriftField(chunk(1), 4)!.value = thriftField(chunk(0), 4)!.value;
  thriftField(chunk(1), 5)!.value = thriftField(chunk(0), 5)!.value;
  const newFooter = encodeThriftStruct(footer);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, newFooter.length, true);
  tail.set([0x50, 0x41, 0x52, 0x31], 4);
  const broken = join(dir, "broken.parquet");
  await writeFile(broken, Buffer.concat([bytes.subarray(0, bytes.length - 8 - length), newFooter, tail]));
  const problems = checkPageIndex(broken);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0]!, /^row group 1 column 0: first page at \d+, column metadata says \d+$/);
});
