/**
 * `npm run bench:export [-- --rows 28000 --kb 60 --row-group 100 --shard-mb 500 --workers N --export --out <dir> --keep --json]`
 *
 * The release writer on synthetic JPEG-sized payloads: 28,000 rows of about 60 KB deterministic
 * pseudo-random bytes (a pool of 64 distinct buffers of 48-72 KB, so generation costs nothing),
 * written as push_to_hub shards (500 MB, row groups of 100). Reports MB/s of image bytes written
 * (goal >= 400 MB/s), peak RSS (goal < 1 GiB), MB per CPU-second (independent of other load) and
 * the load average: the machine may be shared. `--export` times the whole `exportRelease` instead
 * (read the rows back from source shards, spool their images, plan, write), from source shards
 * built first by the writer (untimed).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ArrowSizeCounter, CORE_COLUMNS, type ReleaseRow } from "../src/release/release-schema.ts";
import { writeReleaseShards } from "../src/release/write-release-shards.ts";
import { exportRelease } from "../src/release/export-release.ts";
import { openParquetImages, selectSplitShards } from "../src/source/index.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "28000" },
    kb: { type: "string", default: "60" },
    "row-group": { type: "string", default: "100" },
    "shard-mb": { type: "string", default: "500" },
    workers: { type: "string" },
    // Whole export instead of the writer alone: source shards (built first, untimed) -> exportRelease.
    export: { type: "boolean", default: false },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const rows = Number(args.rows);
const kb = Number(args.kb);

// xorshift32: the same bytes on every run and machine.
let state = 0x9e3779b9;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
};
const pool: Uint8Array[] = [];
for (let i = 0; i < 64; i++) {
  const size = Math.round(kb * 1000 * (0.8 + 0.4 * (next() / 2 ** 32)));
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, 0, Math.floor(size / 4));
  for (let j = 0; j < words.length; j++) words[j] = next();
  bytes[0] = 0xff; // a JPEG's SOI marker, for looks
  bytes[1] = 0xd8;
  pool.push(bytes);
}
const row = (i: number): ReleaseRow => {
  const name = `${String(i).padStart(5, "0")}.jpg`;
  return { image: { bytes: pool[i % pool.length]!, path: name }, file_name: name, cluster_id: Math.floor(i / 3), cluster_size: 3 };
};
const counter = new ArrowSizeCounter(CORE_COLUMNS);
let imageBytes = 0;
for (let i = 0; i < rows; i++) {
  const r = row(i);
  counter.add(r);
  imageBytes += pool[i % pool.length]!.length;
}
function* generate(): Generator<ReleaseRow> {
  for (let i = 0; i < rows; i++) yield row(i);
}

const out = args.out ?? mkdtempSync(join(tmpdir(), "idclusters-bench-export-"));
let source: string | undefined;
if (args.export) {
  // A source shaped like the Hub's image datasets, written by the same writer (not timed).
  source = join(out, "source");
  await writeReleaseShards({ outDir: source, split: "train", columns: CORE_COLUMNS, rows: generate(), numRows: rows, numBytes: counter.bytes(), maxShardSize: 500e6, rowGroupSize: 100 });
}
const loadBefore = loadavg();
const started = performance.now();
const cpuBefore = process.cpuUsage();
const shardOptions = {
  maxShardSize: Number(args["shard-mb"]) * 1e6,
  rowGroupSize: Number(args["row-group"]),
  ...(args.workers !== undefined && { encodeWorkers: Number(args.workers) }),
};
const info = source
  ? (
      await exportRelease({
        source: await openParquetImages({ files: await selectSplitShards({ snapshotDir: source, split: "train" }) }),
        index: Array.from({ length: rows }, (_, i) => ({ row: i, fileName: `${String(i).padStart(5, "0")}.jpg`, imageSha256: null, status: "ok" as const, reason: null, embeddingRow: i })),
        labels: BigInt64Array.from({ length: rows }, (_, i) => BigInt(Math.floor(i / 3))),
        passThrough: [],
        outDir: join(out, "release"),
        split: "train",
        spoolPath: join(out, "spool.bin"),
        ...shardOptions,
      })
    ).data
  : await writeReleaseShards({ outDir: out, split: "train", columns: CORE_COLUMNS, rows: generate(), numRows: rows, numBytes: counter.bytes(), ...shardOptions });
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
// CPU seconds of this process (all its threads): MB per CPU-second does not depend on the load.
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const written = info.shards.reduce((s, x) => s + statSync(join(source ? join(out, "release") : out, x.path)).size, 0);
if (!args.keep && !args.out) rmSync(out, { recursive: true, force: true });

const result = {
  rows,
  shards: info.shards.length,
  imageMB: imageBytes / 1e6,
  fileMB: written / 1e6,
  seconds,
  imageMBps: imageBytes / 1e6 / seconds,
  cpuSeconds,
  imageMBperCpuSecond: imageBytes / 1e6 / cpuSeconds,
  peakRssMiB,
  mode: source ? "export (read source shards, spool, write)" : "writer",
  workers: args.workers ?? "default",
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  loadavg: [loadBefore, loadavg()].map((l) => l.map((x) => x.toFixed(2)).join(" ")),
};
if (args.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
else {
  process.stdout.write(
    `${result.mode}: ${rows} rows, ${result.imageMB.toFixed(0)} MB of images -> ${result.shards} shard(s), ${result.fileMB.toFixed(0)} MB\n` +
      `  ${seconds.toFixed(1)} s, ${result.imageMBps.toFixed(0)} MB/s of image bytes (goal >= 400), peak RSS ${peakRssMiB.toFixed(0)} MiB (goal < 1024)\n` +
      `  ${cpuSeconds.toFixed(1)} CPU s: ${result.imageMBperCpuSecond.toFixed(0)} MB of images per CPU-second\n` +
      `  encoder workers: ${result.workers}; ${result.cpu} x ${result.cores}; load average before ${result.loadavg[0]}, after ${result.loadavg[1]}\n`,
  );
}
