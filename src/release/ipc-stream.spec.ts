import { test } from "node:test";
import assert from "node:assert/strict";
import { Table, tableToIPC } from "apache-arrow";
import { ipcStreamOf } from "./ipc-stream.ts";
import { CORE_COLUMNS, releaseArrowSchema, releaseRecordBatch, type ReleaseColumn, type ReleaseRow } from "./release-schema.ts";

test("ipcStreamOf writes exactly what tableToIPC writes for the release's batches (nulls, ClassLabel, bools, floats)", () => {
  const columns: ReleaseColumn[] = [
    ...CORE_COLUMNS,
    { name: "label", type: "int64", feature: { _type: "ClassLabel", names: ["female", "male"] } },
    { name: "ok", type: "bool", feature: { _type: "Value", dtype: "bool" } },
    { name: "score", type: "float64", feature: { _type: "Value", dtype: "float64" } },
  ];
  const schema = releaseArrowSchema(columns);
  for (const n of [1, 7, 100]) {
    const rows: ReleaseRow[] = Array.from({ length: n }, (_, i) => ({
      image: i % 5 === 3 ? null : { bytes: i % 7 === 2 ? null : Uint8Array.from({ length: i * 3 + 1 }, (_, j) => j ^ i), path: i % 4 === 1 ? null : `${i}.jpg` },
      file_name: i % 6 === 5 ? null : `dir/${i}.png`,
      cluster_id: i % 3 === 0 ? null : i,
      cluster_size: i % 3 === 0 ? null : 2,
      label: i % 2,
      ok: i % 9 === 4 ? null : i % 2 === 0,
      score: i / 3,
    }));
    const batch = releaseRecordBatch(schema, columns, rows);
    assert.deepEqual(ipcStreamOf(batch), tableToIPC(new Table([batch]), "stream"), `${n} rows`);
  }
});
