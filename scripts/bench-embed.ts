/**
 * `npm run bench:embed [-- options]`: the face engine against the OpenCV/InsightFace-style reference
 * (issue #12), on input that looks like what users embed.
 *
 * 1. Realistic photos, whole processes. The seeded set of scripts/make-bench-photos.ts (made if
 *    missing or stale: tiny grey/colour PNG portraits, phone-size and very large JPEGs, some EXIF
 *    rotated or P3-tagged, WebP, images without a face) is embedded by
 *      bin/idclusters.js embed --images <set> --detector yunet=<model> --recognizer <model> ...
 *    (through its shebang, as `npx idclusters` runs it: that is what users run)
 *    and by /usr/bin/python3 scripts/reference-embed.py with the same settings, each as a whole
 *    process under /usr/bin/time (wall, user + sys CPU, max RSS), in the same invocation: one
 *    untimed warm-up each (absorbs first-load work such as onnxruntime option calibration cached on
 *    disk; its wall time is reported), then `--rounds` timed rounds alternating which side goes
 *    first. Every run writes into a fresh folder (no embed cache carries over). Reported per side:
 *    images/s (median), CPU s (median), peak RSS (largest); the ratios; then per-row parity of the
 *    two sides' embeddings of the same image (test/faces/parity-report.ts) with the worst rows
 *    explained. Goal: >= 1.5x the reference's images/s, peak RSS <= the reference's, >= 98 % of
 *    rows at cosine >= 0.99 and >= 99 % at >= 0.95.
 * 2. Fixture faces, per stage, in process (scripts/bench-embed-stages.ts): the older table.
 *
 * Options: --photos DIR (tmp/bench-photos) --count 460 --seed 1 --rounds 3 --detector yunet|scrfd
 *   --det-size 256 --det-thresh 0.5 --worst 12 --json --json-out FILE --fixtures-only --no-fixtures
 *   --no-python (the fixture section without its Python column; the realistic section needs Python)
 *   --plain-node (run `node bin/idclusters.js`, without the shebang's memory tuning, instead of
 *   bin/idclusters.js through its shebang) --ours-arg ARG (extra idclusters flag, repeatable, e.g.
 *   --ours-arg=--calibrate=skip) --keep (keep the run folders under tmp/bench-embed-runs/)
 *   --stages-detector scrfd --stages-repeat 5 (the fixture section).
 */
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FIXTURES, fixturesPresent, models } from "../test/faces/fixtures.ts";
import { CLI, PYTHON, cliArgs, compareParity, formatParity, readEmbedOutputs, referenceArgs, type EmbedSettings, type ParityReport } from "../test/faces/parity-report.ts";
import { benchPhotosUpToDate, makeBenchPhotos, type BenchPhotosManifest } from "./make-bench-photos.ts";
import { formatFixtureStages, runFixtureStages, type FixtureStagesResult } from "./bench-embed-stages.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));

const { values: args } = parseArgs({
  options: {
    photos: { type: "string", default: "tmp/bench-photos" },
    count: { type: "string", default: "460" },
    seed: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    detector: { type: "string", default: "yunet" },
    "det-size": { type: "string", default: "256" },
    "det-thresh": { type: "string", default: "0.5" },
    device: { type: "string", default: "cpu" },
    worst: { type: "string", default: "12" },
    json: { type: "boolean", default: false },
    "json-out": { type: "string" },
    "fixtures-only": { type: "boolean", default: false },
    "no-fixtures": { type: "boolean", default: false },
    "no-python": { type: "boolean", default: false },
    "plain-node": { type: "boolean", default: false },
    "ours-arg": { type: "string", multiple: true, default: [] },
    keep: { type: "boolean", default: false },
    "stages-detector": { type: "string", default: "scrfd" },
    "stages-repeat": { type: "string", default: "5" },
  },
});

function usage(message: string): never {
  console.error(`bench:embed: ${message}`);
  process.exit(2);
}
if (!fixturesPresent) usage(`needs the fixtures at ${FIXTURES}`);
const int = (name: string, min: number) => {
  const v = Number(args[name as keyof typeof args]);
  if (!Number.isInteger(v) || v < min) usage(`--${name} must be an integer >= ${min}`);
  return v;
};
const count = int("count", 1);
const seed = int("seed", 0);
const rounds = int("rounds", 1);
const worst = int("worst", 0);
const detSize = int("det-size", 32);
const detThresh = Number(args["det-thresh"]);
if (!(detThresh > 0 && detThresh <= 1)) usage("--det-thresh must be in (0, 1]");
if (args.detector !== "yunet" && args.detector !== "scrfd") usage("--detector must be yunet or scrfd");
if (args["stages-detector"] !== "yunet" && args["stages-detector"] !== "scrfd") usage("--stages-detector must be yunet or scrfd");
const log = (line: string) => process.stderr.write(line + "\n");

// ---------------------------------------------------------------------------------------------
// Machine
// ---------------------------------------------------------------------------------------------
function machine() {
  const lscpu = spawnSync("lscpu", { encoding: "utf8" });
  const model = /^Model name:\s*(.+)$/m.exec(lscpu.stdout ?? "")?.[1]?.trim() ?? cpus()[0]?.model ?? "?";
  return {
    cpu: model,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    loadBefore: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------
// Whole-process runs
// ---------------------------------------------------------------------------------------------
interface RunResult {
  side: "idclusters" | "reference";
  label: string;
  wall: number;
  cpu: number;
  user: number;
  sys: number;
  maxRssMiB: number;
  load1: number;
  npySha256: string;
  dir: string;
}

function runTimed(side: RunResult["side"], label: string, command: string[], dir: string): Promise<RunResult> {
  mkdirSync(dir, { recursive: true });
  const timeFile = join(dir, "time.txt");
  const load1 = loadavg()[0]!;
  return new Promise((resolvePromise, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, ...command], { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
    const stderr: Buffer[] = [];
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const errText = Buffer.concat(stderr).toString();
      writeFileSync(join(dir, "stderr.log"), errText);
      if (code !== 0) {
        reject(new Error(`${side} (${label}) exited ${code}:\n  ${command.join(" ")}\n${errText.trim().split("\n").slice(-8).join("\n")}`));
        return;
      }
      const [wall, user, sys, rssKiB] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(/\s+/).map(Number);
      const npy = join(dir, "embeddings.npy");
      resolvePromise({
        side,
        label,
        wall: wall!,
        user: user!,
        sys: sys!,
        cpu: user! + sys!,
        maxRssMiB: rssKiB! / 1024,
        load1,
        npySha256: existsSync(npy) ? createHash("sha256").update(readFileSync(npy)).digest("hex") : "",
        dir,
      });
    });
  });
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface SideSummary {
  imagesPerSecond: number;
  wall: number;
  cpu: number;
  peakRssMiB: number;
  medianRssMiB: number;
  walls: number[];
  cpus: number[];
  rssMiB: number[];
  warmupWall: number;
  warmupRssMiB: number;
  deterministic: boolean;
}

function summarise(runs: RunResult[], warm: RunResult, images: number): SideSummary {
  const walls = runs.map((r) => r.wall);
  const wall = median(walls);
  return {
    imagesPerSecond: images / wall,
    wall,
    cpu: median(runs.map((r) => r.cpu)),
    peakRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
    medianRssMiB: median(runs.map((r) => r.maxRssMiB)),
    walls,
    cpus: runs.map((r) => r.cpu),
    rssMiB: runs.map((r) => r.maxRssMiB),
    warmupWall: warm.wall,
    warmupRssMiB: warm.maxRssMiB,
    deterministic: new Set([warm, ...runs].map((r) => r.npySha256)).size === 1,
  };
}

function perKind(manifest: BenchPhotosManifest, ours: ReturnType<typeof readEmbedOutputs>, reference: ReturnType<typeof readEmbedOutputs>, report: ParityReport) {
  const byFile = new Map(manifest.files.map((f) => [f.file, f]));
  const cos = new Map(report.rows.map((r) => [r.file, r.cosine]));
  const kinds: Record<string, { images: number; oursFace: number; referenceFace: number; both: number; atLeast099: number }> = {};
  ours.forEach((o, i) => {
    const r = reference[i]!;
    const kind = byFile.get(o.file)?.kind ?? "?";
    const k = (kinds[kind] ??= { images: 0, oursFace: 0, referenceFace: 0, both: 0, atLeast099: 0 });
    k.images++;
    if (o.status === "ok") k.oursFace++;
    if (r.status === "ok") k.referenceFace++;
    const c = cos.get(o.file);
    if (c !== undefined && c !== null) {
      k.both++;
      if (c >= 0.99) k.atLeast099++;
    }
  });
  return kinds;
}

async function realistic() {
  const photosDir = resolve(REPO, args.photos!);
  let manifest = benchPhotosUpToDate(photosDir, count, seed);
  if (!manifest) {
    log(`bench:embed: making the bench photos in ${photosDir} (seed ${seed}, ${count} images)...`);
    manifest = await makeBenchPhotos({ out: photosDir, count, seed });
  }
  const images = join(photosDir, "images");
  const settings: EmbedSettings = {
    detector: args.detector as "yunet" | "scrfd",
    detectorModel: args.detector === "yunet" ? models.yunet : models.scrfd,
    recognizer: models.mobilefacenet,
    detSize,
    detThresh,
    recMean: 127,
    recStd: 128,
    device: args.device as EmbedSettings["device"],
  };
  const root = join(REPO, "tmp", "bench-embed-runs", `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`);
  mkdirSync(root, { recursive: true });
  const ourCommand = (dir: string) => {
    const a = cliArgs(settings, images, dir);
    const base = args["plain-node"] ? [process.execPath, CLI] : [join(REPO, "bin", "idclusters.js")];
    return [...base, ...a, ...args["ours-arg"]!];
  };
  const refCommand = (dir: string) => [PYTHON, ...referenceArgs(settings, images, dir)];
  // Paths as seen from the repository root, the fixtures as ../shared/fixtures when they are there.
  const show = (cmd: string[]) =>
    cmd
      .map((v, i) => (i === 0 && v === process.execPath ? "node" : v))
      .map((v) => v.split(FIXTURES).join(relative(REPO, FIXTURES)).split(REPO).join(""))
      .join(" ");

  const run = (side: RunResult["side"], label: string) => {
    const dir = join(root, `${side}-${label}`);
    log(`bench:embed: ${side} ${label}...`);
    return runTimed(side, label, side === "idclusters" ? ourCommand(dir) : refCommand(dir), dir);
  };
  const warmOurs = await run("idclusters", "warm-up");
  const warmRef = await run("reference", "warm-up");
  const ours: RunResult[] = [];
  const ref: RunResult[] = [];
  const order: string[] = [];
  for (let r = 1; r <= rounds; r++) {
    const oursFirst = r % 2 === 1;
    order.push(oursFirst ? "idclusters" : "reference");
    for (const side of oursFirst ? (["idclusters", "reference"] as const) : (["reference", "idclusters"] as const)) {
      const result = await run(side, `round-${r}`);
      (side === "idclusters" ? ours : ref).push(result);
    }
  }
  const loadAfter = loadavg().map((v) => Math.round(v * 100) / 100);
  const n = manifest.files.length;
  const oursSummary = summarise(ours, warmOurs, n);
  const refSummary = summarise(ref, warmRef, n);

  const last = (runs: RunResult[]) => runs[runs.length - 1]!.dir;
  const oursRows = readEmbedOutputs(join(last(ours), "embeddings.npy"), join(last(ours), "index.jsonl"));
  const refRows = readEmbedOutputs(join(last(ref), "embeddings.npy"), join(last(ref), "index.jsonl"));
  const byFile = new Map(manifest.files.map((f) => [f.file, f]));
  const parity = compareParity(oursRows, refRows, { detThresh, icc: (file) => byFile.get(file)?.icc !== undefined });
  const kinds = perKind(manifest, oursRows, refRows, parity);
  const noFaceExpected = manifest.files.filter((f) => !f.face).map((f) => f.file);
  const falseFaces = {
    idclusters: noFaceExpected.filter((f) => oursRows.find((r) => r.file === f)?.status === "ok"),
    reference: noFaceExpected.filter((f) => refRows.find((r) => r.file === f)?.status === "ok"),
  };
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  return {
    photos: {
      dir: relative(REPO, images),
      images: n,
      counts: manifest.counts,
      megabytes: Math.round(manifest.files.reduce((s, f) => s + f.bytes, 0) / 1e5) / 10,
      seed,
      largest: manifest.files.reduce((m, f) => Math.max(m, f.width * f.height), 0),
    },
    settings: { detector: `${path(settings.detectorModel)} (${settings.detector})`, detSize, detThresh, recognizer: path(settings.recognizer), recMean: 127, recStd: 128, device: args.device },
    commands: { idclusters: show(ourCommand(join(root, "idclusters-<round>"))), reference: show(refCommand(join(root, "reference-<round>"))) },
    rounds,
    firstInRound: order,
    loadAfter,
    loadDuringRuns: [...ours, ...ref, warmOurs, warmRef].map((r) => Math.round(r.load1 * 100) / 100),
    idclusters: oursSummary,
    reference: refSummary,
    ratios: {
      imagesPerSecond: oursSummary.imagesPerSecond / refSummary.imagesPerSecond,
      cpu: oursSummary.cpu / refSummary.cpu,
      peakRss: oursSummary.peakRssMiB / refSummary.peakRssMiB,
    },
    parity: { ...parity, rows: parity.rows.filter((r) => r.cosine === null || r.cosine < 0.999).slice(0, Math.max(worst, 50)) },
    parityText: formatParity(parity, worst),
    perKind: kinds,
    facesInNoFaceImages: falseFaces,
    runsKeptIn: args.keep ? relative(REPO, root) : undefined,
  };
}
const path = (p: string) => p.replace(FIXTURES, "<fixtures>");

function formatRealistic(r: Awaited<ReturnType<typeof realistic>>, m: ReturnType<typeof machine>): string[] {
  const o = r.idclusters;
  const p = r.reference;
  const f1 = (v: number) => v.toFixed(1);
  const mib = (v: number) => `${v.toFixed(0)} MiB`;
  const lines = [
    `## Face engine on real photos (whole processes, same invocation)`,
    ``,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ${m.date}`,
    `load average: ${m.loadBefore.join(" ")} before; 1-min load at each run's start ${Math.min(...r.loadDuringRuns)}-${Math.max(...r.loadDuringRuns)}; ${r.loadAfter.join(" ")} after`,
    `images: ${r.photos.dir}: ${r.photos.images} (${Object.entries(r.photos.counts).map(([k, v]) => `${v} ${k}`).join(", ")}), ${r.photos.megabytes} MB, seed ${r.photos.seed}, largest ${(r.photos.largest / 1e6).toFixed(1)} Mpx`,
    `settings: ${r.settings.detector} at det size ${r.settings.detSize}, threshold ${r.settings.detThresh}; ${r.settings.recognizer} (mean 127, std 128); ${r.settings.device}`,
    `idclusters: ${r.commands.idclusters}`,
    `reference:  ${r.commands.reference}`,
    `warm-up (untimed): idclusters ${f1(o.warmupWall)} s (${mib(o.warmupRssMiB)}), reference ${f1(p.warmupWall)} s (${mib(p.warmupRssMiB)}); ${r.rounds} timed rounds, first in each: ${r.firstInRound.join(", ")}`,
    ``,
    `| ${r.photos.images} images | idclusters | reference (OpenCV DNN, Python) | ratio |`,
    `|---|---:|---:|---:|`,
    `| images/s (median wall) | **${f1(o.imagesPerSecond)}** | ${f1(p.imagesPerSecond)} | **${r.ratios.imagesPerSecond.toFixed(2)}x** (goal >= 1.5x) |`,
    `| wall s per round | ${o.walls.map(f1).join(", ")} | ${p.walls.map(f1).join(", ")} | |`,
    `| CPU s, user + sys (median) | ${f1(o.cpu)} | ${f1(p.cpu)} | ${r.ratios.cpu.toFixed(2)} |`,
    `| peak RSS (largest of the rounds) | **${mib(o.peakRssMiB)}** | ${mib(p.peakRssMiB)} | **${r.ratios.peakRss.toFixed(2)}** (goal <= 1) |`,
    ``,
    `same embeddings in every round (warm-up included): idclusters ${o.deterministic ? "yes" : "NO"}, reference ${p.deterministic ? "yes" : "NO"}`,
    ``,
    `### Parity, row by row (last round's outputs)`,
    ...r.parityText,
    ``,
    `| kind | images | face found: idclusters / reference | both | cosine >= 0.99 |`,
    `|---|---:|---:|---:|---:|`,
    ...Object.entries(r.perKind).map(([k, v]) => `| ${k} | ${v.images} | ${v.oursFace} / ${v.referenceFace} | ${v.both} | ${v.atLeast099} |`),
    ``,
    `faces "found" in images made without one: idclusters ${r.facesInNoFaceImages.idclusters.length} (${r.facesInNoFaceImages.idclusters.join(", ") || "-"}), reference ${r.facesInNoFaceImages.reference.length} (${r.facesInNoFaceImages.reference.join(", ") || "-"})`,
  ];
  if (r.runsKeptIn) lines.push(`run folders kept in ${r.runsKeptIn}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
const m = machine();
let real: Awaited<ReturnType<typeof realistic>> | undefined;
let stages: FixtureStagesResult | undefined;
if (!args["fixtures-only"]) {
  if (!existsSync("/usr/bin/time")) usage("needs /usr/bin/time (Debian package `time`) to measure whole processes");
  if (spawnSync(PYTHON, ["-c", "import cv2, skimage"], { stdio: "ignore" }).status !== 0) usage(`needs ${PYTHON} with cv2 and skimage (python3-opencv, python3-skimage) for the reference`);
  real = await realistic();
  if (!args.json) console.log(formatRealistic(real, m).join("\n"));
}
if (!args["no-fixtures"]) {
  stages = await runFixtureStages({
    device: args.device as "cpu",
    detector: args["stages-detector"] as "scrfd" | "yunet",
    detSize,
    detThresh: 0.5,
    repeat: int("stages-repeat", 1),
    python: !args["no-python"],
  });
  if (!args.json) console.log(["", `## Fixture faces, per stage (in process)`, "", ...formatFixtureStages(stages)].join("\n"));
}
if (args.json || args["json-out"]) {
  const { parityText: _omit, ...realJson } = real ?? { parityText: undefined };
  const text = JSON.stringify({ machine: m, realistic: real ? realJson : undefined, fixtureStages: stages }, null, 2);
  if (args.json) console.log(text);
  if (args["json-out"]) writeFileSync(args["json-out"], text + "\n");
}
