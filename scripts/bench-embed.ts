/**
 * `npm run bench:embed [-- --device cpu|auto|webgpu|cuda] [--detector scrfd|yunet] [--repeat 5] [--json]`
 *
 * Images/s of each face engine stage (decode, detect, align, embed) and end to end on the fixture
 * faces (the 40 labelled crops, repeated), then the same pipeline through OpenCV DNN in Python
 * (scripts/bench-embed.py, Debian's /usr/bin/python3 + python3-opencv) when available, as the ratio
 * to beat (goal: >= 1.5x). Prints the load average beside the numbers: the machine may be shared.
 */
import { readFileSync, existsSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { RgbImage } from "../src/common/image.ts";
import { FaceEngine, ScrfdDetector, YunetDetector, ArcFaceRecognizer, alignFace, chooseFace } from "../src/faces/index.ts";
import type { DetectorSpec, DeviceChoice } from "../src/faces/index.ts";
import { FIXTURES, fixturesPresent, labelledFaces, models, mobilefacenetSpec } from "../test/faces/fixtures.ts";

const { values: args } = parseArgs({
  options: {
    device: { type: "string", default: "cpu" },
    detector: { type: "string", default: "scrfd" },
    repeat: { type: "string", default: "5" },
    "det-size": { type: "string", default: "256" },
    "no-python": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
if (!fixturesPresent) {
  console.error(`bench:embed needs the fixtures at ${FIXTURES}`);
  process.exit(2);
}
const device = args.device as DeviceChoice;
const repeat = Number(args.repeat);
const detSize = Number(args["det-size"]);
const detector: DetectorSpec =
  args.detector === "yunet"
    ? { kind: "yunet", modelPath: models.yunet, inputSize: detSize, scoreThreshold: 0.5 }
    : { kind: "scrfd", modelPath: models.scrfd, inputSize: detSize, scoreThreshold: 0.5 };

const files = Array.from({ length: repeat }, () => labelledFaces().map((f) => f.path)).flat();
const bytes = files.map((f) => readFileSync(f));
const n = files.length;

async function decode(buffer: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(buffer).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e9];
}

const rate = (count: number, seconds: number) => count / seconds;

// Warm-up outside the timings: session creation, first-run allocations.
const det = detector.kind === "yunet" ? await YunetDetector.create({ spec: detector, device }) : await ScrfdDetector.create({ spec: detector, device });
const rec = await ArcFaceRecognizer.create({ spec: mobilefacenetSpec, device });
const warm = await decode(bytes[0]!);
await rec.embed([alignFace(warm, chooseFace(await det.detect(warm), warm.width, warm.height)!.landmarks)]);

const [images, tDecode] = await timed(() => Promise.all(bytes.map(decode)));
const [chosen, tDetect] = await timed(async () => {
  const out = [];
  for (const image of images) out.push(chooseFace(await det.detect(image), image.width, image.height));
  return out;
});
const [crops, tAlign] = await timed(async () => images.flatMap((image, i) => (chosen[i] ? [alignFace(image, chosen[i]!.landmarks)] : [])));
const [, tEmbed] = await timed(() => rec.embed(crops));
const provider = rec.provider;
const detectorProvider = det.provider;
await Promise.all([det.dispose(), rec.dispose()]);

const engine = await FaceEngine.create({ detector, recognizer: mobilefacenetSpec, device, batchSize: 32 });
await engine.process([await decode(bytes[0]!)]);
const [, tEnd] = await timed(async () => {
  for (let start = 0; start < n; start += 32) {
    const batch = await Promise.all(bytes.slice(start, start + 32).map(decode));
    await engine.process(batch);
  }
});
await engine.dispose();

const ours = {
  provider,
  images: n,
  decode: rate(n, tDecode),
  detect: rate(n, tDetect),
  align: rate(crops.length, tAlign),
  embed: rate(crops.length, tEmbed),
  endToEnd: rate(n, tEnd),
};

let opencv: Record<string, number> | undefined;
const script = fileURLToPath(new URL("./bench-embed.py", import.meta.url));
if (!args["no-python"] && existsSync("/usr/bin/python3")) {
  const result = spawnSync("/usr/bin/python3", [script, "--detector", detector.kind, "--model", detector.modelPath, "--recognizer", models.mobilefacenet, "--det-size", String(detSize), ...files], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (result.status === 0) opencv = JSON.parse(result.stdout) as Record<string, number>;
  else console.error(`OpenCV reference skipped: ${result.stderr.trim().split("\n").pop()}`);
}

const summary = {
  machine: `${cpus().length} cpus, load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`,
  detector: `${detector.kind} at ${detSize}`,
  providers: { detector: detectorProvider, recognizer: provider },
  ours,
  opencv,
  ratioEndToEnd: opencv?.endToEnd ? ours.endToEnd / opencv.endToEnd : undefined,
};
if (args.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const fmt = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(1).padStart(8));
  console.log(`bench:embed  ${n} images (${repeat} x 40 fixture faces), ${summary.detector}, recognizer MobileFaceNet`);
  console.log(`providers: detector ${detectorProvider}, recognizer ${provider}`);
  console.log(`machine: ${summary.machine}`);
  console.log(`stage (images/s)   idclusters   OpenCV DNN (Python)`);
  for (const key of ["decode", "detect", "align", "embed", "endToEnd"] as const) {
    console.log(`${key.padEnd(18)} ${fmt(ours[key])}     ${fmt(opencv?.[key])}`);
  }
  if (summary.ratioEndToEnd !== undefined) console.log(`end-to-end ratio idclusters / OpenCV: ${summary.ratioEndToEnd.toFixed(2)}x (goal >= 1.5x)`);
}
