// `idclusters cluster` end to end, in process: outputs numpy can read, the noise policies, the
// eps suggestion and clear errors for bad input files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.ts";
import { encodeNpy, readNpy, writeNpy } from "../../src/common/npy.ts";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const expected = JSON.parse(readFileSync(fixtures + "expected.json", "utf8")).datasets as Record<string, { labels: number[] }>;

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  // Tee, never swallow: under `node --test` the runner's own reports travel on stdout too.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    stdout += String(chunk);
    return out(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    stderr += String(chunk);
    return err(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

const dir = mkdtempSync(join(tmpdir(), "cluster-cli-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("writes int64 labels with singleton numbering, sizes and statistics", async () => {
  const labels = join(dir, "labels.npy");
  const sizes = join(dir, "sizes.npy");
  const stats = join(dir, "stats.json");
  const r = await run([
    "cluster", "--embeddings", fixtures + "dups_zeros_ms2_f32.npy", "--eps", "0.35", "--min-samples", "2",
    "--noise", "singleton", "--labels-out", labels, "--stats-out", stats, "--sizes-out", sizes, "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const sk = expected.dups_zeros_ms2_f32!.labels;
  let next = Math.max(...sk) + 1;
  const singleton = sk.map((l) => (l >= 0 ? l : next++));
  const got = readNpy(labels);
  assert.equal(got.dtype, "int64");
  assert.deepEqual(Array.from(got.data as BigInt64Array, Number), singleton);
  const count = (l: number) => singleton.filter((x) => x === l).length;
  assert.deepEqual(Array.from(readNpy(sizes).data as BigInt64Array, Number), singleton.map(count));
  const s = JSON.parse(readFileSync(stats, "utf8"));
  const noise = sk.filter((l) => l < 0).length;
  assert.equal(s.rows, sk.length);
  assert.equal(s.identities, Math.max(...sk) + 1 + noise);
  assert.equal(s.singletons + s.multi_image_clusters, s.identities);
  assert.equal(s.nearest_neighbor.share_within_eps, s.nearest_neighbor.non_noise_share); // min_samples 2
  assert.ok(s.nearest_neighbor.exact_duplicates >= 10, "the fixture repeats 10 rows");
  assert.equal(Object.values(s.size_distribution as Record<string, number>).reduce((a, b) => a + b, 0), s.identities);
});

test("--noise drop writes the kept rows; --suggest-eps prints the suggestion beside eps", async () => {
  const labels = join(dir, "drop.npy");
  const rows = join(dir, "rows.npy");
  const r = await run([
    "cluster", "--embeddings", fixtures + "ids_ms2_f64.npy", "--noise", "drop", "--labels-out", labels,
    "--rows-out", rows, "--suggest-eps", "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const sk = expected.ids_ms2_f64!.labels;
  assert.deepEqual(Array.from(readNpy(labels).data as BigInt64Array, Number), sk.filter((l) => l >= 0));
  assert.deepEqual(Array.from(readNpy(rows).data as BigInt64Array, Number), sk.flatMap((l, i) => (l >= 0 ? [i] : [])));
  assert.match(r.stdout, /eps: configured 0\.35, suggested 0\.\d+ \(histogram valley at similarity/);
});

test("bad inputs exit 2 with a message naming the file and the problem", async () => {
  const write = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const good = encodeNpy({ shape: [2, 3], data: Float32Array.from([1, 0, 0, 0, 1, 0]) });
  const header = Buffer.from(good).toString("latin1");
  const cases: [string, RegExp][] = [
    [write("int.npy", encodeNpy({ shape: [2, 3], data: Int32Array.from([1, 2, 3, 4, 5, 6]) })), /embeddings must be float32 or float64, got int32/],
    [write("fortran.npy", Buffer.from(header.replace("False", "True "), "latin1")), /Fortran order/],
    [write("nan.npy", encodeNpy({ shape: [2, 3], data: Float32Array.from([1, 0, 0, 0, NaN, 0]) })), /row 1, column 1 is NaN/],
    [write("flat.npy", encodeNpy({ shape: [6], data: Float32Array.from([1, 0, 0, 0, 1, 0]) })), /must be 2-D \(rows, dims\), got shape \(6\)/],
    [write("cube.npy", encodeNpy({ shape: [1, 2, 3], data: Float32Array.from([1, 0, 0, 0, 1, 0]) })), /must be 2-D/],
    [write("cut.npy", good.subarray(0, good.length - 5)), /truncated .npy file/],
    [write("empty.npy", encodeNpy({ shape: [0, 3], data: new Float32Array(0) })), /no rows to cluster/],
  ];
  for (const [path, message] of cases) {
    const r = await run(["cluster", "--embeddings", path]);
    assert.equal(r.code, 2, `${path}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    assert.match(r.stderr, message);
  }
  writeNpy(join(dir, "ok.npy"), { shape: [2, 3], data: Float32Array.from([1, 0, 0, 0, 1, 0]) });
  assert.equal((await run(["cluster", "--embeddings", join(dir, "ok.npy"), "--eps", "2"])).code, 2);
  assert.equal((await run(["cluster", "--embeddings", join(dir, "ok.npy"), "--min-samples", "0"])).code, 2);
  assert.equal((await run(["cluster"])).code, 2);
});

test("--config reads <work dir>/embeddings.npy and the config's clustering settings", async () => {
  const config = fileURLToPath(new URL("../../configs/celebahq_512.yaml", import.meta.url));
  const work = join(dir, "work");
  mkdirSync(work, { recursive: true });
  copyFileSync(fixtures + "ids_ms2_f32.npy", join(work, "embeddings.npy"));
  const r = await run(["cluster", "--config", config, "--work-dir", work, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const sk = expected.ids_ms2_f32!.labels; // same eps 0.35, min_samples 2, singleton noise
  let next = Math.max(...sk) + 1;
  assert.deepEqual(Array.from(readNpy(join(work, "labels.npy")).data as BigInt64Array, Number), sk.map((l) => (l >= 0 ? l : next++)));
  const stats = JSON.parse(readFileSync(join(work, "cluster-stats.json"), "utf8"));
  assert.deepEqual([stats.eps, stats.min_samples, stats.noise_policy], [0.35, 2, "singleton"]);
});

test("a near-threshold pair that joins two components is warned about and listed in the statistics", async () => {
  const angle = Math.acos(0.65 + 5e-7);
  const path = join(dir, "edge.npy");
  writeNpy(path, { shape: [2, 2], data: Float64Array.from([1, 0, Math.cos(angle), Math.sin(angle)]) });
  const stats = join(dir, "edge-stats.json");
  const r = await run(["cluster", "--embeddings", path, "--stats-out", stats]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: rows 0 and 1: similarity 0\.65000\d+ is within 2e-6 of the threshold .* decided neighbours/);
  const pairs = JSON.parse(readFileSync(stats, "utf8")).ambiguous_pairs;
  assert.deepEqual(pairs.map((p: { i: number; j: number; neighbor: boolean }) => [p.i, p.j, p.neighbor]), [[0, 1, true]]);
});
