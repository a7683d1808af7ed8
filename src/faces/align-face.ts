/**
 * InsightFace `norm_crop`: similarity transform from the 5 detected keypoints to the ArcFace
 * 112x112 template, bilinear warp, zero border (reference-pipeline.md "Alignment").
 * The warp reproduces cv2.warpAffine's INTER_LINEAR arithmetic for 8-bit images: the inverse map
 * is evaluated in fixed point (10 fractional bits, rounded to 1/32 pixel), and the four taps are
 * weighted with 15-bit integer weights, so crops match OpenCV's to within rounding.
 */
import type { RgbImage } from "../common/image.ts";
import { estimateSimilarity, type Affine2x3 } from "./estimate-similarity.ts";

/** ArcFace template for a 112x112 crop: eyes, nose, mouth corners (image-left first). */
export const ARCFACE_TEMPLATE: readonly (readonly [number, number])[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];
export const ALIGNED_SIZE = 112;

const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;
const COEF_SCALE = 1 << 15;

/** OpenCV's bilinear weight table: 32x32 sub-pixel positions x 4 taps, 15-bit integers summing to 1. */
const WEIGHTS = (() => {
  const table = new Int32Array(INTER_TAB_SIZE * INTER_TAB_SIZE * 4);
  for (let fy = 0; fy < INTER_TAB_SIZE; fy++) {
    for (let fx = 0; fx < INTER_TAB_SIZE; fx++) {
      const wy = fy / INTER_TAB_SIZE;
      const wx = fx / INTER_TAB_SIZE;
      const w = [(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx].map((v) => Math.round(v * COEF_SCALE));
      const diff = w.reduce((s, v) => s + v, 0) - COEF_SCALE;
      if (diff !== 0) {
        const target = diff < 0 ? w.indexOf(Math.max(...w)) : w.indexOf(Math.min(...w));
        w[target]! -= diff;
      }
      table.set(w, (fy * INTER_TAB_SIZE + fx) * 4);
    }
  }
  return table;
})();

/** cvRound: round half to even, as saturate_cast<int>(double) does. */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * cv2.warpAffine(image, M, (width, height), flags=INTER_LINEAR, borderValue=0) for packed RGB.
 * `M` maps source pixels to destination pixels.
 */
export function warpAffine(image: RgbImage, M: Affine2x3, width: number, height: number, out?: Uint8Array): RgbImage {
  const data = out && out.length >= width * height * 3 ? out : new Uint8Array(width * height * 3);
  // Invert M exactly as OpenCV does before mapping destination pixels back.
  let [m0, m1, m2, m3, m4, m5] = M;
  const det = m0 * m4 - m1 * m3;
  const D = det !== 0 ? 1 / det : 0;
  const a11 = m4 * D;
  const a22 = m0 * D;
  m0 = a11;
  m1 *= -D;
  m3 *= -D;
  m4 = a22;
  const b1 = -m0 * m2 - m1 * m5;
  const b2 = -m3 * m2 - m4 * m5;
  m2 = b1;
  m5 = b2;

  const src = image.data;
  const sw = image.width;
  const sh = image.height;
  const rowStride = sw * 3;
  const adelta = new Int32Array(width);
  const bdelta = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    adelta[x] = cvRound(m0 * x * AB_SCALE);
    bdelta[x] = cvRound(m3 * x * AB_SCALE);
  }
  const tap = (ix: number, iy: number, c: number): number =>
    ix >= 0 && ix < sw && iy >= 0 && iy < sh ? src[iy * rowStride + ix * 3 + c]! : 0;

  for (let y = 0; y < height; y++) {
    const X0 = cvRound((m1 * y + m2) * AB_SCALE) + ROUND_DELTA;
    const Y0 = cvRound((m4 * y + m5) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < width; x++) {
      const X = (X0 + adelta[x]!) >> (AB_BITS - INTER_BITS);
      const Y = (Y0 + bdelta[x]!) >> (AB_BITS - INTER_BITS);
      const ix = X >> INTER_BITS;
      const iy = Y >> INTER_BITS;
      const w = ((Y & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (X & (INTER_TAB_SIZE - 1))) * 4;
      const w0 = WEIGHTS[w]!, w1 = WEIGHTS[w + 1]!, w2 = WEIGHTS[w + 2]!, w3 = WEIGHTS[w + 3]!;
      const o = (y * width + x) * 3;
      if (ix >= 0 && iy >= 0 && ix + 1 < sw && iy + 1 < sh) {
        const p = iy * rowStride + ix * 3;
        const q = p + rowStride;
        for (let c = 0; c < 3; c++) {
          const v = (src[p + c]! * w0 + src[p + 3 + c]! * w1 + src[q + c]! * w2 + src[q + 3 + c]! * w3 + (1 << 14)) >> 15;
          data[o + c] = v > 255 ? 255 : v;
        }
      } else if (ix >= sw || iy >= sh || ix + 1 < 0 || iy + 1 < 0) {
        data[o] = data[o + 1] = data[o + 2] = 0;
      } else {
        // Partly outside: outside taps read the zero border.
        for (let c = 0; c < 3; c++) {
          const v =
            (tap(ix, iy, c) * w0 + tap(ix + 1, iy, c) * w1 + tap(ix, iy + 1, c) * w2 + tap(ix + 1, iy + 1, c) * w3 + (1 << 14)) >> 15;
          data[o + c] = v > 255 ? 255 : v;
        }
      }
    }
  }
  return { data, width, height };
}

/** The 2x3 matrix `norm_crop` warps with for these keypoints. */
export function alignmentMatrix(landmarks: readonly (readonly [number, number])[]): Affine2x3 {
  if (landmarks.length !== ARCFACE_TEMPLATE.length) {
    throw new Error(`alignment needs ${ARCFACE_TEMPLATE.length} landmarks, got ${landmarks.length}`);
  }
  return estimateSimilarity(landmarks, ARCFACE_TEMPLATE);
}

/** The 112x112 ArcFace crop of the face with these 5 keypoints. */
export function alignFace(image: RgbImage, landmarks: readonly (readonly [number, number])[], out?: Uint8Array): RgbImage {
  return warpAffine(image, alignmentMatrix(landmarks), ALIGNED_SIZE, ALIGNED_SIZE, out);
}
