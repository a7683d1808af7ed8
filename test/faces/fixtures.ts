/** Shared fixture access for the face engine tests and benchmark (never copied into the repo). */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { RgbImage } from "../../src/common/image.ts";

export const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
export const fixturesPresent = existsSync(join(FIXTURES, "models", "scrfd_500m_bnkps.onnx"));
export const MISSING = "../shared/fixtures missing";

export const models = {
  scrfd: join(FIXTURES, "models", "scrfd_500m_bnkps.onnx"),
  yunet: join(FIXTURES, "models", "yunet_s_640_640.onnx"),
  yunetDynamic: join(FIXTURES, "models", "yunet_n_dynamic.onnx"),
  mobilefacenet: join(FIXTURES, "models", "mobilefacenet_arcface_512.onnx"),
};

/** Decodes like the source stage: EXIF orientation applied, alpha dropped, 8-bit sRGB. */
export async function decode(input: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** The 40 labelled crops in a fixed order (labels.json order) with their identity. */
export function labelledFaces(): { file: string; path: string; identity: string }[] {
  const dir = join(FIXTURES, "faces", "labelled");
  const labels = JSON.parse(readFileSync(join(dir, "labels.json"), "utf8")) as Record<string, string>;
  return Object.entries(labels).map(([file, identity]) => ({ file, path: join(dir, file), identity }));
}

export function groupPhotos(): { file: string; path: string }[] {
  return [1, 2, 3, 4, 5].map((i) => ({ file: `bbt${i}.jpg`, path: join(FIXTURES, "faces", "group", `bbt${i}.jpg`) }));
}

/** The release's det_size 256 and det_thresh 0.2 (the fixture model is fixed at 640: the image is fitted into 256 at its top-left). */
export const scrfdSpec = { kind: "scrfd" as const, modelPath: models.scrfd, inputSize: 256, scoreThreshold: 0.2 };
export const yunetSpec = { kind: "yunet" as const, modelPath: models.yunet, inputSize: 640, scoreThreshold: 0.5 };
/** MobileFaceNet's own code feeds (p - 127) / 128 (fixtures README). */
export const mobilefacenetSpec = { modelPath: models.mobilefacenet, mean: 127, std: 128 };
