/**
 * The fixture-only section of `npm run bench:embed` (`--fixtures-only` runs just this): images/s of
 * each face engine stage (decode, detect, align, embed) and end to end, in process, on the 40
 * labelled fixture faces repeated, beside the same stages through OpenCV DNN in Python
 * (scripts/bench-embed.py). Small identical crops: a view of the stages, not of real input (the
 * whole-process comparison on realistic photos comes first in scripts/bench-embed.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { RgbImage } from "../src/common/image.ts";
import type { DetectorSpec, DeviceChoice } from "../src/faces/index.ts";
import { labelledFaces, models, mobilefacenetSpec } from "../test/faces/fixtures.ts";

export interface StageRates {
  decode: number;
  detect: number;
  align: number;
  embed: number;
  endToEnd: number;
}

export interface FixtureStagesResult {
  images: number;
  repeat: number;
  detector: string;
  providers: { detector: string; recognizer: string };
  ours: StageRates;
  opencv?: StageRates;
  ratioEndToEnd?: number;
  opencvSkipped?: string;
}

async function decode(buffer: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(buffer).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e9];
}

export async function runFixtureStages(params: {
  device: DeviceChoice;
  detector: "scrfd" | "yunet";
  detSize: number;
  detThresh: number;
  repeat: number;
  python: boolean;
}): Promise<FixtureStagesResult> {
  // Loaded here: the realistic section runs whole processes and needs none of this in the bench's own process.
  const { FaceEngine, ScrfdDetector, YunetDetector, ArcFaceRecognizer, alignFace, chooseFace } = await import("../src/faces/index.ts");
  const { device, detSize, repeat } = params;
  const detector: DetectorSpec =
    params.detector === "yunet"
      ? { kind: "yunet", modelPath: models.yunet, inputSize: detSize, scoreThreshold: params.detThresh }
      : { kind: "scrfd", modelPath: models.scrfd, inputSize: detSize, scoreThreshold: params.detThresh };
  const files = Array.from({ length: repeat }, () => labelledFaces().map((f) => f.path)).flat();
  const bytes = files.map((f) => readFileSync(f));
  const n = files.length;
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
  const providers = { detector: det.provider, recognizer: rec.provider };
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

  const ours: StageRates = {
    decode: rate(n, tDecode),
    detect: rate(n, tDetect),
    align: rate(crops.length, tAlign),
    embed: rate(crops.length, tEmbed),
    endToEnd: rate(n, tEnd),
  };

  let opencv: StageRates | undefined;
  let opencvSkipped: string | undefined;
  const script = fileURLToPath(new URL("./bench-embed.py", import.meta.url));
  if (!params.python) opencvSkipped = "--no-python";
  else if (!existsSync("/usr/bin/python3")) opencvSkipped = "/usr/bin/python3 missing";
  else {
    const result = spawnSync(
      "/usr/bin/python3",
      [script, "--detector", detector.kind, "--model", detector.modelPath, "--recognizer", models.mobilefacenet, "--det-size", String(detSize), ...files],
      { encoding: "utf8", maxBuffer: 16 << 20 },
    );
    if (result.status === 0) opencv = JSON.parse(result.stdout) as StageRates;
    else opencvSkipped = result.stderr.trim().split("\n").pop();
  }
  return {
    images: n,
    repeat,
    detector: `${detector.kind} at ${detSize}`,
    providers,
    ours,
    opencv,
    opencvSkipped,
    ratioEndToEnd: opencv?.endToEnd ? ours.endToEnd / opencv.endToEnd : undefined,
  };
}

export function formatFixtureStages(r: FixtureStagesResult): string[] {
  const fmt = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(1));
  const lines = [
    `${r.images} images (${r.repeat} x 40 labelled fixture faces, 150x150 grey PNG), ${r.detector}, MobileFaceNet, in process;`,
    `providers: detector ${r.providers.detector}, recognizer ${r.providers.recognizer}`,
    ``,
    `| stage (images/s) | idclusters | OpenCV DNN (Python) |`,
    `|---|---:|---:|`,
  ];
  for (const key of ["decode", "detect", "align", "embed", "endToEnd"] as const) {
    lines.push(`| ${key === "endToEnd" ? "end to end" : key} | ${fmt(r.ours[key])} | ${fmt(r.opencv?.[key])} |`);
  }
  lines.push(``);
  if (r.ratioEndToEnd !== undefined) lines.push(`end to end: ${r.ratioEndToEnd.toFixed(2)}x the OpenCV pipeline on the fixture faces`);
  if (r.opencvSkipped) lines.push(`OpenCV reference skipped: ${r.opencvSkipped}`);
  return lines;
}
