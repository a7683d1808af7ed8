/**
 * `npm run bench:memory [-- --count 32 --side 10000 --batch-size 32 --decode-workers N --dir DIR --seed 7 --json]`
 *
 * Peak memory of `idclusters embed` on huge images: generates (once, seeded, reproducibly) `count`
 * JPEGs of about side x side pixels (default 32 x ~10^8 px, just under the default
 * `faces.max_pixels`), each with a fixture face pasted large enough for the detector to find it at
 * 640 px, then runs the real CLI on them under `/usr/bin/time -v` with a fresh work dir (so nothing
 * comes from the embed cache) and prints wall time, CPU time and the whole process's peak RSS.
 * Goal (issue #10): <= 1.5 GiB at batch 32. Not part of `npm test`: generating the images takes
 * a few minutes (~32 MB of JPEG on disk, kept in `--dir` for the next run). Wall time depends on
 * the machine's load, printed beside it; peak RSS hardly does.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { mulberry32 } from "../src/common/seeded-random.ts";
import { FIXTURES, fixturesPresent, labelledFaces, models } from "../test/faces/fixtures.ts";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "32" },
    side: { type: "string", default: "10000" },
    "batch-size": { type: "string", default: "32" },
    "decode-workers": { type: "string" },
    seed: { type: "string", default: "7" },
    dir: { type: "string", default: join(tmpdir(), "idclusters-bench-memory") },
    json: { type: "boolean", default: false },
  },
});
if (!fixturesPresent) {
  console.error(`bench:memory needs the fixtures at ${FIXTURES}`);
  process.exit(2);
}
if (!existsSync("/usr/bin/time")) {
  console.error("bench:memory needs GNU time at /usr/bin/time (apt-get install time)");
  process.exit(2);
}
const count = Number(args.count);
const side = Number(args.side);
const seed = Number(args.seed);
const imagesDir = join(args.dir, `seed${seed}-side${side}-n${count}`);
const CLI = fileURLToPath(new URL("../bin/idclusters.js", import.meta.url));

/**
 * Image i: a seeded background colour, a size within 3% below side x side (so never above the
 * default pixel limit), and a seeded fixture face scaled to 30-45% of the short side at a seeded
 * place: YuNet sees it at ~200 px after the 640 px letterbox.
 */
async function generate(): Promise<void> {
  await mkdir(imagesDir, { recursive: true });
  const faces = labelledFaces();
  const random = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const width = side - Math.floor(random() * side * 0.03);
    const height = side - Math.floor(random() * side * 0.03);
    const face = faces[Math.floor(random() * faces.length)]!;
    const faceSide = Math.round(Math.min(width, height) * (0.3 + random() * 0.15));
    const left = Math.floor(random() * (width - faceSide));
    const top = Math.floor(random() * (height - faceSide));
    const background = { r: Math.floor(random() * 256), g: Math.floor(random() * 256), b: Math.floor(random() * 256) };
    const file = join(imagesDir, `big-${String(i).padStart(3, "0")}.jpg`);
    if (existsSync(file)) continue;
    const pasted = await sharp(face.path).resize(faceSide, faceSide, { kernel: "lanczos3" }).png().toBuffer();
    await sharp({ create: { width, height, channels: 3, background }, limitInputPixels: false })
      .composite([{ input: pasted, left, top }])
      .jpeg({ quality: 90 })
      .toFile(file + ".part");
    await rename(file + ".part", file);
    process.stderr.write(`generated ${i + 1}/${count}: ${width}x${height} (${face.file})\n`);
  }
}

function lscpuModel(): string {
  const result = spawnSync("lscpu", { encoding: "utf8" });
  return /Model name:\s*(.+)/.exec(result.stdout ?? "")?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
}

/** `/usr/bin/time -v` report -> seconds and kilobytes. */
function parseTimeReport(stderr: string): { wall: number; user: number; system: number; maxRssKiB: number } {
  const field = (label: string) => new RegExp(`${label}:\\s*(.+)`).exec(stderr)?.[1]?.trim() ?? "";
  const clock = field("Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)").split(":").map(Number);
  const wall = clock.reduce((total, part) => total * 60 + part, 0);
  return { wall, user: Number(field("User time \\(seconds\\)")), system: Number(field("System time \\(seconds\\)")), maxRssKiB: Number(field("Maximum resident set size \\(kbytes\\)")) };
}

await generate();
const files = readdirSync(imagesDir).filter((f) => f.endsWith(".jpg"));
const pixels = await Promise.all(files.map(async (f) => {
  const { width = 0, height = 0 } = await sharp(join(imagesDir, f), { limitInputPixels: false }).metadata();
  return width * height;
}));
const bytesOnDisk = files.reduce((n, f) => n + readFileSync(join(imagesDir, f)).length, 0);

const out = await mkdtemp(join(tmpdir(), "idclusters-bench-memory-out-"));
try {
  const cliArgs = [
    CLI, "embed", "--images", imagesDir,
    "--detector", `yunet=${models.yunetDynamic}`, "--recognizer", models.mobilefacenet, "--device", "cpu",
    "--batch-size", String(args["batch-size"]),
    ...(args["decode-workers"] !== undefined ? ["--decode-workers", String(args["decode-workers"])] : []),
    "--out", join(out, "emb.npy"), "--index-out", join(out, "index.jsonl"), "--work-dir", join(out, "work"), "--json",
  ];
  const run = spawnSync("/usr/bin/time", ["-v", process.execPath, ...cliArgs], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (run.status !== 0) {
    console.error(run.stderr);
    throw new Error(`idclusters embed exited with ${run.status}`);
  }
  const summary = JSON.parse(run.stdout) as { rows: number; ok: number; noFace: number; errors: number };
  const time = parseTimeReport(run.stderr);
  const result = {
    date: new Date().toISOString(),
    machine: `${lscpuModel()}, ${cpus().length} cpus, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    loadAverage: loadavg().map((v) => Number(v.toFixed(2))),
    node: process.version,
    images: files.length,
    megapixels: { min: Math.min(...pixels) / 1e6, max: Math.max(...pixels) / 1e6 },
    jpegMiB: bytesOnDisk / 2 ** 20,
    batchSize: Number(args["batch-size"]),
    decodeWorkers: args["decode-workers"] ?? "default",
    rows: summary.rows,
    ok: summary.ok,
    noFace: summary.noFace,
    errors: summary.errors,
    wallSeconds: time.wall,
    cpuSeconds: time.user + time.system,
    peakRssGiB: time.maxRssKiB / 2 ** 20,
    goalGiB: 1.5,
  };
  if (args.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`bench:memory  ${result.date}  ${result.machine}  node ${result.node}`);
    console.log(`${result.images} JPEGs of ${result.megapixels.min.toFixed(1)}-${result.megapixels.max.toFixed(1)} Mpx (${result.jpegMiB.toFixed(0)} MiB on disk), batch ${result.batchSize}, decode workers ${result.decodeWorkers}`);
    console.log(`rows ${result.rows}: ${result.ok} ok, ${result.noFace} no face, ${result.errors} errors`);
    console.log(`wall ${result.wallSeconds.toFixed(1)} s, CPU ${result.cpuSeconds.toFixed(1)} s, peak RSS ${result.peakRssGiB.toFixed(2)} GiB (goal <= ${result.goalGiB} GiB); load average after ${result.loadAverage.join(" ")}`);
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
