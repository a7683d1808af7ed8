/**
 * `npm run bench:photos -- [--out tmp/bench-photos] [--count 460] [--seed 1]`
 *
 * Builds, from the fixture faces and group photos only (../shared/fixtures, never copied into the
 * repo), a folder of images shaped like what users really embed (issue #12): mostly tiny portraits,
 * phone-size photos, a few very large ones, grey and colour, some without a face, in the formats
 * both decoders (sharp here, cv2.imread in the Python reference) read to the same pixels:
 *
 *   ~65 % tiny      80-120 px PNG portraits: the labelled (grey) fixture faces, or colour faces cut
 *                   from the group photos, jittered crops, a quarter of the colour ones made grey
 *   ~25 % phone     800-3000 px wide JPEGs (quality 80-95): a face pasted on a plausible background
 *                   (a gradient with texture, or a group photo blurred out of recognition) or a whole
 *                   group photo scaled up; 15 % grey; 12 % stored rotated with an EXIF orientation
 *                   (3, 6 or 8: cv2.imread and sharp both apply it, checked pixel for pixel); 8 % of
 *                   the other colour ones carry a Display P3 ICC profile as iPhones write (sharp converts to sRGB,
 *                   cv2.imread ignores profiles: those rows differ by design, see BENCHMARKS.md)
 *   ~3 %  large     JPEGs with a long side of 4000-6000 px (quality 85-92), composed the same way
 *   ~5 %  no face   textures, gradients, face-free crops of the group photos (lower parts), blurred
 *                   group photos; PNG or JPEG, 300-1600 px
 *   ~2 %  webp      WebP portraits and phone-size photos (Debian's cv2 4.6 is built with libwebp)
 *
 * Reproducible: every choice comes from a seeded PRNG (mulberry32) drawn up front, in file order;
 * the same seed, count and sharp/libvips build give byte-identical files (manifest.json records the
 * versions and each file's SHA-256; another build's encoders may write other bytes). Output:
 *
 *   <out>/images/NNNN-<kind>.<ext>   the images (an `imagefolder`: `idclusters embed --images <out>/images`)
 *   <out>/manifest.json              seed, count, versions, and per file: kind, format, width and
 *                                    height as displayed, grey, face expected or not, source, bytes, sha256
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp, { type Sharp } from "sharp";
import { mulberry32 } from "../src/common/seeded-random.ts";
import { FIXTURES, fixturesPresent, groupPhotos, labelledFaces } from "../test/faces/fixtures.ts";

/** Bumped whenever the recipe changes: a manifest of another version is regenerated. */
export const PHOTOS_VERSION = 1;

export type PhotoKind = "tiny" | "phone" | "large" | "noface" | "webp";

export interface BenchPhoto {
  file: string;
  kind: PhotoKind;
  format: "png" | "jpeg" | "webp";
  /** Size as displayed (after EXIF orientation). */
  width: number;
  height: number;
  grey: boolean;
  /** Whether the image was composed with a face in it. */
  face: boolean;
  /** What it was made of, e.g. "labelled:amy/amy1.png" or "group:bbt3.jpg#2" or "texture". */
  source: string;
  /** Approximate width of the main face in the final image (px), when there is one. */
  faceWidth?: number;
  orientation?: number;
  icc?: "p3";
  quality?: number;
  bytes: number;
  sha256: string;
}

export interface BenchPhotosManifest {
  generator: "scripts/make-bench-photos.ts";
  version: number;
  seed: number;
  count: number;
  sharp: string;
  vips: string;
  counts: Record<PhotoKind, number>;
  files: BenchPhoto[];
}

/**
 * Faces of the fixture group photos (x1, y1, x2, y2 in the original pixels), found once by YuNet at
 * 640 px through scripts/reference-embed.py's detector (score >= 0.9), rounded; bbt2's face cut by
 * the left border is left out. Used to cut colour portraits.
 */
export const GROUP_FACES: Record<string, [number, number, number, number][]> = {
  "bbt1.jpg": [[1003, 77, 1100, 211], [475, 145, 570, 267], [219, 130, 313, 256], [734, 139, 822, 259]],
  "bbt2.jpg": [[93, 121, 178, 227], [380, 118, 460, 229]],
  "bbt3.jpg": [[368, 107, 420, 175], [37, 27, 92, 101], [154, 84, 204, 155], [489, 94, 549, 172], [259, 99, 305, 162]],
  "bbt4.jpg": [[232, 41, 324, 161], [86, 18, 167, 140], [254, 229, 340, 343], [578, 65, 660, 173], [461, 169, 559, 303], [50, 253, 152, 382]],
  "bbt5.jpg": [[717, 104, 811, 218], [219, 27, 294, 138], [105, 158, 197, 274], [576, 45, 656, 148], [439, 146, 527, 264]],
};
/** Face-free lower parts of the group photos (fractions of the height; bbt4 has faces low down). */
const FACE_FREE_FROM: Record<string, number> = { "bbt1.jpg": 0.42, "bbt2.jpg": 0.56, "bbt3.jpg": 0.52, "bbt5.jpg": 0.64 };
const GROUP_SIZES: Record<string, [number, number]> = {
  "bbt1.jpg": [1366, 768],
  "bbt2.jpg": [675, 469],
  "bbt3.jpg": [594, 383],
  "bbt4.jpg": [710, 473],
  "bbt5.jpg": [940, 464],
};

type Rng = () => number;
const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** Where a face comes from: a labelled 150x150 crop, or a region around a group photo's face. */
interface FaceSource {
  label: string;
  path: string;
  /** Region to cut (left, top, width, height) in the source image. */
  region: { left: number; top: number; width: number; height: number };
  colour: boolean;
}

interface Background {
  kind: "texture" | "blurred-group";
  colours: [number, number, number][];
  vertical: boolean;
  noiseSeed: number;
  group?: string;
}

/** What one image will be made of: the manifest's fields known before encoding, and the recipe. */
interface Plan extends Pick<BenchPhoto, "file" | "kind" | "format" | "width" | "height" | "grey" | "face"> {
  content:
    | { type: "portrait"; source: FaceSource }
    | { type: "composed"; background: Background; source: FaceSource; faceWidth: number; left: number; top: number }
    | { type: "group"; group: string }
    | { type: "texture"; background: Background }
    | { type: "group-crop"; group: string; region: { left: number; top: number; width: number; height: number } };
  quality?: number;
  orientation?: number;
  icc?: "p3";
  /** Sensor-like noise added to every pixel (amplitude in grey levels; 0: none). */
  grain?: number;
  /** Seed of that noise. */
  grainSeed?: number;
}

function kindCounts(count: number): Record<PhotoKind, number> {
  const large = Math.max(1, Math.round(0.03 * count));
  const noface = Math.max(1, Math.round(0.05 * count));
  const phone = Math.round(0.25 * count);
  const tiny = Math.round(0.65 * count);
  const webp = Math.max(0, count - large - noface - phone - tiny);
  return { tiny: count - large - noface - phone - webp, phone, large, noface, webp };
}

function labelledSource(rng: Rng): FaceSource {
  const faces = labelledFaces();
  const face = pick(rng, faces);
  // Jittered crop of the 150x150 face: up to 14 px off each side.
  const l = int(rng, 0, 14);
  const t = int(rng, 0, 14);
  const r = int(rng, 0, 14);
  const b = int(rng, 0, 14);
  return { label: `labelled:${face.file}`, path: face.path, region: { left: l, top: t, width: 150 - l - r, height: 150 - t - b }, colour: false };
}

function groupSource(rng: Rng, aspect: number): FaceSource {
  const groups = Object.keys(GROUP_FACES);
  const group = pick(rng, groups);
  const faces = GROUP_FACES[group]!;
  const index = Math.floor(rng() * faces.length);
  const [x1, y1, x2, y2] = faces[index]!;
  const [W, H] = GROUP_SIZES[group]!;
  const side = Math.max(x2 - x1, y2 - y1) * uniform(rng, 1.35, 1.8);
  let width = Math.min(W, Math.round(side));
  let height = Math.min(H, Math.round(side * aspect));
  width = Math.max(8, width);
  height = Math.max(8, height);
  const cx = (x1 + x2) / 2 + uniform(rng, -0.08, 0.08) * side;
  const cy = (y1 + y2) / 2 + uniform(rng, 0, 0.1) * side; // portraits frame the face a little above centre
  const left = Math.min(W - width, Math.max(0, Math.round(cx - width / 2)));
  const top = Math.min(H - height, Math.max(0, Math.round(cy - height / 2)));
  return { label: `group:${group}#${index}`, path: join(FIXTURES, "faces", "group", group), region: { left, top, width, height }, colour: true };
}

function background(rng: Rng): Background {
  const muted = (): [number, number, number] => [int(rng, 50, 210), int(rng, 50, 210), int(rng, 50, 210)];
  const blurred = rng() < 0.4;
  return {
    kind: blurred ? "blurred-group" : "texture",
    colours: [muted(), muted(), muted()],
    vertical: rng() < 0.6,
    noiseSeed: Math.floor(rng() * 2 ** 31),
    group: blurred ? pick(rng, Object.keys(GROUP_SIZES)) : undefined,
  };
}

const ASPECTS = [
  { aspect: 3 / 4, weight: 0.4 },
  { aspect: 4 / 3, weight: 0.35 },
  { aspect: 16 / 9, weight: 0.1 },
  { aspect: 9 / 16, weight: 0.1 },
  { aspect: 1, weight: 0.05 },
];
function aspectOf(rng: Rng): number {
  let u = rng();
  for (const a of ASPECTS) {
    if ((u -= a.weight) < 0) return a.aspect;
  }
  return 1;
}

/** A photo with a face: a face pasted on a background, or a whole group photo. */
function photoPlan(rng: Rng, min: number, max: number, longSide: boolean): Pick<Plan, "width" | "height" | "content" | "grain"> {
  const size = int(rng, min, max);
  const grain = uniform(rng, 2, 7);
  if (rng() < 0.35) {
    const group = pick(rng, Object.keys(GROUP_SIZES));
    const aspect = pick(rng, [4 / 3, 3 / 2, 16 / 9]);
    return { width: size, height: Math.round(size / aspect), content: { type: "group", group }, grain };
  }
  const aspect = aspectOf(rng);
  // Phones: min..max is the width; very large photos: the long side.
  const width = longSide && aspect < 1 ? Math.round(size * aspect) : size;
  const height = Math.round(width / aspect);
  const source = rng() < 0.5 ? labelledSource(rng) : groupSource(rng, uniform(rng, 1.0, 1.25));
  const minSide = Math.min(width, height);
  const faceWidth = Math.round(minSide * uniform(rng, 0.3, 0.6));
  const faceHeight = Math.round((faceWidth * source.region.height) / source.region.width);
  const left = Math.round(Math.min(width - faceWidth, Math.max(0, width / 2 - faceWidth / 2 + uniform(rng, -0.2, 0.2) * width)));
  const top = Math.round(Math.min(height - faceHeight, Math.max(0, height * 0.45 - faceHeight / 2 + uniform(rng, -0.15, 0.15) * height)));
  return { width, height, content: { type: "composed", background: background(rng), source, faceWidth, left, top }, grain };
}

export function planBenchPhotos(count: number, seed: number): Plan[] {
  const rng = mulberry32(seed);
  const counts = kindCounts(count);
  const kinds: PhotoKind[] = (Object.keys(counts) as PhotoKind[]).flatMap((k) => Array.from({ length: counts[k] }, () => k));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const digits = String(count).length;
  return kinds.map((kind, i): Plan => {
    const stem = `${String(i).padStart(Math.max(4, digits), "0")}-${kind}`;
    if (kind === "tiny" || (kind === "webp" && rng() < 0.6)) {
      const fromLabelled = rng() < 0.6;
      const width = int(rng, 80, 120);
      const height = rng() < 0.5 ? width : Math.round(width * uniform(rng, 1.05, 1.3));
      const source = fromLabelled ? labelledSource(rng) : groupSource(rng, height / width);
      const grey = !source.colour || rng() < 0.25;
      const format = kind === "webp" ? "webp" : "png";
      return {
        file: `${stem}.${format === "webp" ? "webp" : "png"}`,
        kind,
        format,
        width,
        height,
        grey,
        face: true,
        content: { type: "portrait", source },
        quality: format === "webp" ? int(rng, 75, 92) : undefined,
      };
    }
    if (kind === "phone" || kind === "large" || kind === "webp") {
      const [lo, hi] = kind === "large" ? [4000, 6000] : [800, 3000];
      const shape = photoPlan(rng, lo, hi, kind === "large");
      const grey = rng() < 0.15;
      const format = kind === "webp" ? "webp" : "jpeg";
      const u = rng();
      const orientation = format === "jpeg" && u < 0.12 ? pick(rng, [6, 6, 8, 3]) : undefined;
      const icc = format === "jpeg" && !grey && !orientation && rng() < 0.08 ? ("p3" as const) : undefined;
      return {
        file: `${stem}.${format === "webp" ? "webp" : "jpg"}`,
        kind,
        format,
        ...shape,
        grainSeed: Math.floor(rng() * 2 ** 31),
        grey,
        face: true,
        quality: kind === "large" ? int(rng, 85, 92) : int(rng, 80, 95),
        orientation,
        icc,
      };
    }
    // No face: textures and gradients, face-free crops of the group photos, blurred group photos.
    const u = rng();
    const width = int(rng, 300, 1600);
    const format = rng() < 0.4 ? "png" : "jpeg";
    const grey = rng() < 0.15;
    const base = { file: `${stem}.${format === "png" ? "png" : "jpg"}`, kind, format, grey, face: false, quality: format === "jpeg" ? int(rng, 80, 95) : undefined } as const;
    if (u < 0.45) {
      const group = pick(rng, Object.keys(FACE_FREE_FROM));
      const [W, H] = GROUP_SIZES[group]!;
      const from = Math.ceil(H * FACE_FREE_FROM[group]!);
      const regionHeight = int(rng, Math.min(60, H - from), H - from);
      const regionWidth = Math.min(W, Math.round(regionHeight * uniform(rng, 1, 2.2)));
      const region = { left: int(rng, 0, W - regionWidth), top: int(rng, from, H - regionHeight), width: regionWidth, height: regionHeight };
      return { ...base, width, height: Math.max(1, Math.round((width * regionHeight) / regionWidth)), content: { type: "group-crop", group, region } };
    }
    const bg = background(rng);
    return { ...base, width, height: Math.round(width / aspectOf(rng)), content: { type: "texture", background: bg } };
  });
}

/** A gradient between muted colours with a soft texture, or a group photo blurred out of recognition. */
async function renderBackground(bg: Background, width: number, height: number): Promise<Sharp> {
  if (bg.kind === "blurred-group") {
    // Blurred at 1/8 size and scaled up: the same look as a full-size blur, at a fraction of its cost.
    const w = Math.max(2, Math.ceil(width / 8));
    const h = Math.max(2, Math.ceil(height / 8));
    const small = await sharp(join(FIXTURES, "faces", "group", bg.group!)).resize(w, h, { fit: "cover" }).blur(Math.max(1, w / 25)).raw().toBuffer();
    return sharp(await sharp(small, { raw: { width: w, height: h, channels: 3 } }).resize(width, height, { kernel: "linear" }).raw().toBuffer(), {
      raw: { width, height, channels: 3 },
    });
  }
  // Drawn at 1/8 size and scaled up: smooth texture, cheap at 6000 px.
  const w = Math.max(2, Math.ceil(width / 8));
  const h = Math.max(2, Math.ceil(height / 8));
  const noise = mulberry32(bg.noiseSeed);
  const pixels = Buffer.alloc(w * h * 3);
  const [a, b, c] = bg.colours;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = bg.vertical ? y / (h - 1) : x / (w - 1);
      const blob = 0.5 + 0.5 * Math.sin((x / w) * 5.1 + (y / h) * 3.7 + bg.noiseSeed % 7);
      for (let ch = 0; ch < 3; ch++) {
        const base = a![ch]! * (1 - t) + b![ch]! * t;
        const v = base * (1 - 0.25 * blob) + c![ch]! * 0.25 * blob + (noise() - 0.5) * 24;
        pixels[(y * w + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return sharp(await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).resize(width, height, { kernel: "linear" }).raw().toBuffer(), {
    raw: { width, height, channels: 3 },
  });
}

async function faceCrop(source: FaceSource, width: number, height: number): Promise<Buffer> {
  const { data, info } = await sharp(source.path).extract(source.region).toColourspace("srgb").removeAlpha().resize(width, height, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`${source.label}: face crop came out ${info.width}x${info.height}x${info.channels}`);
  return data;
}

/** The upright RGB pixels of a plan. */
async function renderUpright(plan: Plan): Promise<Buffer> {
  const { width, height, content } = plan;
  switch (content.type) {
    case "portrait":
      return faceCrop(content.source, width, height);
    case "composed": {
      const faceHeight = Math.round((content.faceWidth * content.source.region.height) / content.source.region.width);
      const face = await faceCrop(content.source, content.faceWidth, faceHeight);
      const pixels = await (await renderBackground(content.background, width, height)).raw().toBuffer();
      // Pasted row by row (sharp's composite would add an alpha channel and cost more than this).
      const rows = Math.min(faceHeight, height - content.top);
      const rowBytes = Math.min(content.faceWidth, width - content.left) * 3;
      for (let y = 0; y < rows; y++) {
        face.copy(pixels, ((content.top + y) * width + content.left) * 3, y * content.faceWidth * 3, y * content.faceWidth * 3 + rowBytes);
      }
      return pixels;
    }
    case "group":
      return sharp(join(FIXTURES, "faces", "group", content.group)).resize(width, height, { fit: "cover" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
    case "texture": {
      const bg = await renderBackground(content.background, width, height);
      return bg.raw().toBuffer();
    }
    case "group-crop":
      return sharp(join(FIXTURES, "faces", "group", content.group))
        .extract(content.region)
        .resize(width, height, { fit: "fill" })
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer();
  }
}

/** Stored rotation for an EXIF orientation: the display rotation undone. */
const STORED_ROTATION: Record<number, number> = { 3: 180, 6: 270, 8: 90 };

/** Photos are never smooth: sensor-like noise, so JPEG sizes and decode costs look like a camera's (xorshift32). */
function addGrain(pixels: Buffer, amplitude: number, seed: number): void {
  const table = new Int16Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.round((v / 255 - 0.5) * 2 * amplitude);
  let x = seed | 0 || 1;
  const n = pixels.length;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    let r = x >>> 0;
    for (let k = 0; k < 4 && i + k < n; k++, r >>>= 8) {
      const v = pixels[i + k]! + table[r & 0xff]!;
      pixels[i + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

export async function renderBenchPhoto(plan: Plan): Promise<Buffer> {
  const pixels = await renderUpright(plan);
  if (plan.grain) addGrain(pixels, plan.grain, plan.grainSeed ?? 0);
  let image = sharp(pixels, { raw: { width: plan.width, height: plan.height, channels: 3 } });
  if (plan.grey) image = image.greyscale();
  if (plan.orientation) image = image.rotate(STORED_ROTATION[plan.orientation]!);
  if (plan.format === "png") return image.png().toBuffer();
  if (plan.format === "webp") return image.webp({ quality: plan.quality ?? 85 }).toBuffer();
  image = image.jpeg({ quality: plan.quality ?? 90 });
  if (plan.orientation) image = image.withMetadata({ orientation: plan.orientation });
  if (plan.icc) image = image.withIccProfile(plan.icc);
  return image.toBuffer();
}

export interface MakeBenchPhotosParams {
  out: string;
  count?: number;
  seed?: number;
  /** Progress lines on stderr (default true). */
  verbose?: boolean;
}

/** True when `<out>/manifest.json` describes exactly this recipe, count and seed and every file is there. */
export function benchPhotosUpToDate(out: string, count: number, seed: number): BenchPhotosManifest | undefined {
  const path = join(out, "manifest.json");
  if (!existsSync(path)) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(path, "utf8")) as BenchPhotosManifest;
    if (manifest.version !== PHOTOS_VERSION || manifest.count !== count || manifest.seed !== seed) return undefined;
    // Every file there with its size (cheap; the SHA-256s are in the manifest for a full check).
    if (!manifest.files.every((f) => existsSync(join(out, "images", f.file)) && statSync(join(out, "images", f.file)).size === f.bytes)) return undefined;
    return manifest;
  } catch {
    return undefined;
  }
}

export async function makeBenchPhotos(params: MakeBenchPhotosParams): Promise<BenchPhotosManifest> {
  if (!fixturesPresent) throw new Error(`bench photos are made from the fixtures at ${FIXTURES}, which are missing`);
  const out = resolve(params.out);
  const count = params.count ?? 460;
  const seed = params.seed ?? 1;
  const verbose = params.verbose ?? true;
  for (const g of groupPhotos()) {
    const meta = await sharp(g.path).metadata();
    const expected = GROUP_SIZES[g.file]!;
    if (meta.width !== expected[0] || meta.height !== expected[1]) throw new Error(`${g.path}: ${meta.width}x${meta.height}, the recipe expects ${expected.join("x")}`);
  }
  // Only a folder this script made (or an empty/new one) is rewritten.
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, "manifest.json"))) {
    throw new Error(`${out} exists and is not a bench photo folder (no manifest.json): refusing to write into it`);
  }
  rmSync(join(out, "images"), { recursive: true, force: true });
  rmSync(join(out, "manifest.json"), { force: true });
  mkdirSync(join(out, "images"), { recursive: true });

  const plans = planBenchPhotos(count, seed);
  const files: BenchPhoto[] = new Array(plans.length);
  let next = 0;
  let done = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i]!;
      const bytes = await renderBenchPhoto(plan);
      writeFileSync(join(out, "images", plan.file), bytes);
      const c = plan.content;
      files[i] = {
        file: plan.file,
        kind: plan.kind,
        format: plan.format,
        width: plan.width,
        height: plan.height,
        grey: plan.grey,
        face: plan.face,
        source:
          c.type === "portrait" || c.type === "composed"
            ? c.source.label + (c.type === "composed" ? ` on ${c.background.kind === "texture" ? "texture" : `blurred ${c.background.group}`}` : "")
            : c.type === "group"
              ? `group:${c.group}`
              : c.type === "group-crop"
                ? `group-crop:${c.group}@${c.region.left},${c.region.top},${c.region.width}x${c.region.height}`
                : "texture",
        ...(c.type === "composed" ? { faceWidth: c.faceWidth } : c.type === "portrait" ? { faceWidth: plan.width } : {}),
        ...(plan.orientation ? { orientation: plan.orientation } : {}),
        ...(plan.icc ? { icc: plan.icc } : {}),
        ...(plan.quality ? { quality: plan.quality } : {}),
        bytes: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
      done++;
      if (verbose && (done % 50 === 0 || done === plans.length)) {
        process.stderr.write(`bench:photos ${done}/${plans.length} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  const manifest: BenchPhotosManifest = {
    generator: "scripts/make-bench-photos.ts",
    version: PHOTOS_VERSION,
    seed,
    count,
    sharp: sharp.versions.sharp ?? "?",
    vips: sharp.versions.vips,
    counts: kindCounts(count),
    files,
  };
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "tmp/bench-photos" },
      count: { type: "string", default: "460" },
      seed: { type: "string", default: "1" },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
    console.error("--count must be a positive integer and --seed an integer");
    process.exit(2);
  }
  if (!fixturesPresent) {
    console.error(`bench:photos needs the fixtures at ${FIXTURES}`);
    process.exit(2);
  }
  const manifest = await makeBenchPhotos({ out: values.out!, count, seed });
  const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
  console.log(
    `${join(resolve(values.out!), "images")}: ${manifest.files.length} images (${Object.entries(manifest.counts).map(([k, v]) => `${v} ${k}`).join(", ")}), ` +
      `${(total / 1e6).toFixed(1)} MB, seed ${seed}`,
  );
}
