/**
 * Detector input: the image scaled to fit inside the detection size keeping its aspect ratio,
 * placed at the top-left of a zero image, written straight into an NCHW float blob.
 * reference-pipeline.md "Detection (SCRFD)": letterbox to the top-left, remember the scale.
 * The size arithmetic and the bilinear resize follow InsightFace's SCRFD.detect (int() truncation
 * of the new side, cv2.resize INTER_LINEAR: half-pixel centres, edge clamp, no antialiasing,
 * result rounded to 8 bits before normalisation), in OpenCV's own 11-bit fixed-point arithmetic:
 * on the fixture faces and photos it gives the same bytes as Debian's cv2.resize for 99.8% of the
 * values (the rest differ by 1), where rounding a float bilinear result differed on 12%.
 */
import type { RgbImage } from "../common/image.ts";

export interface LetterboxParams {
  /** Blob width (model input width). */
  width: number;
  /** Blob height (model input height). */
  height: number;
  /** Subtracted from each 0-255 channel value. */
  mean: number;
  /** Divides the centred value. */
  std: number;
  /** Channel order of the blob: BGR for YuNet, RGB for SCRFD. */
  bgr: boolean;
  /**
   * Square the image is fitted into (the detection size), at the top-left of the blob; the rest of
   * the blob is zero pixels. Smaller than the blob only for a model whose input is fixed at a larger
   * size than requested (default: the blob size).
   */
  fitSize?: number;
  /** Reused output buffer (width * height * 3 floats); allocated when absent or too small. */
  out?: Float32Array;
}

export interface Letterboxed {
  blob: Float32Array;
  /** Image px * scale = blob px; divide detections by it. */
  scale: number;
}

/**
 * cv2.resize INTER_LINEAR source positions and 11-bit fixed-point weights for one axis, computed
 * as OpenCV's resize() does for 8-bit images: `f = float((d + 0.5) * scale - 0.5)`, edge clamp
 * (f = 0 at both ends), weights `cvRound((1 - f) * 2048)` and `cvRound(f * 2048)`.
 */
interface AxisMap {
  index: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

const COEF_SCALE = 2048;

function axisMap(src: number, dst: number): AxisMap {
  const index = new Int32Array(dst);
  const w0 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  const scale = 1 / (dst / src); // OpenCV: scale = 1 / inv_scale, inv_scale = dst / src
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let i = Math.floor(f);
    f = Math.fround(f - i);
    if (i < 0) {
      i = 0;
      f = 0;
    }
    if (i >= src - 1) {
      i = src - 1;
      f = 0;
    }
    index[d] = i;
    // Math.round rounds halves up where cvRound rounds them to even; f * 2048 is never a half here
    // except for f = 0.5 exactly, where both give 1024.
    w0[d] = Math.round(Math.fround(Math.fround(1 - f) * COEF_SCALE));
    w1[d] = Math.round(Math.fround(f * COEF_SCALE));
  }
  return { index, w0, w1 };
}

/**
 * One source row resized horizontally, in fixed point (pixel x 2048), 3 channels interleaved:
 * OpenCV's HResizeLinear for 8-bit images.
 */
function horizontalRow(src: Uint8Array, rowStart: number, xs: AxisMap, out: Int32Array): void {
  const { index, w0, w1 } = xs;
  for (let x = 0, o = 0; x < index.length; x++, o += 3) {
    const a = rowStart + index[x]! * 3;
    const k0 = w0[x]!;
    const k1 = w1[x]!;
    if (k1 === 0) {
      out[o] = src[a]! * k0;
      out[o + 1] = src[a + 1]! * k0;
      out[o + 2] = src[a + 2]! * k0;
    } else {
      out[o] = src[a]! * k0 + src[a + 3]! * k1;
      out[o + 1] = src[a + 1]! * k0 + src[a + 4]! * k1;
      out[o + 2] = src[a + 2]! * k0 + src[a + 5]! * k1;
    }
  }
}

export function letterbox(image: RgbImage, params: LetterboxParams): Letterboxed {
  const { width: W, height: H } = params;
  if (!(image.width > 0 && image.height > 0) || image.data.length < image.width * image.height * 3) {
    throw new Error(`cannot detect faces in a ${image.width}x${image.height} image of ${image.data.length} bytes`);
  }
  const plane = W * H;
  const blob = params.out && params.out.length >= plane * 3 ? params.out : new Float32Array(plane * 3);
  // InsightFace: fit by the tighter side, the other side truncated with int().
  const fitW = Math.min(W, params.fitSize ?? W);
  const fitH = Math.min(H, params.fitSize ?? H);
  const imRatio = image.height / image.width;
  const modelRatio = fitH / fitW;
  let newW: number;
  let newH: number;
  if (imRatio > modelRatio) {
    newH = fitH;
    newW = Math.max(1, Math.trunc(newH / imRatio));
  } else {
    newW = fitW;
    newH = Math.max(1, Math.trunc(newW * imRatio));
  }
  const scale = newH / image.height;

  const pad = (0 - params.mean) / params.std;
  // Padding only where the image does not land: right of it, then below it, in each plane.
  for (let p = 0; p < 3; p++) {
    const base = p * plane;
    if (newW < W) for (let y = 0; y < newH; y++) blob.fill(pad, base + y * W + newW, base + (y + 1) * W);
    blob.fill(pad, base + newH * W, base + plane);
  }
  const xs = axisMap(image.width, newW);
  const ys = axisMap(image.height, newH);
  const src = image.data;
  const stride = image.width * 3;
  const inv = 1 / params.std;
  const mean = params.mean;
  // Blob planes in the requested order: plane k holds source channel ch[k].
  const c0 = params.bgr ? 2 : 0;
  const c2 = params.bgr ? 0 : 2;
  // The two horizontally resized source rows the current output row blends (reused while the
  // source row stays the same, as when upscaling).
  let top = new Int32Array(newW * 3);
  let bottom = new Int32Array(newW * 3);
  let topRow = -1;
  let bottomRow = -1;
  for (let y = 0; y < newH; y++) {
    const sy = ys.index[y]!;
    const sy1 = Math.min(sy + 1, image.height - 1);
    if (topRow !== sy) {
      if (bottomRow === sy) {
        [top, bottom] = [bottom, top];
        bottomRow = -1;
      } else horizontalRow(src, sy * stride, xs, top);
      topRow = sy;
    }
    if (bottomRow !== sy1) {
      horizontalRow(src, sy1 * stride, xs, bottom);
      bottomRow = sy1;
    }
    // OpenCV's vectorised VResizeLinear for 8-bit images (what x86 builds run):
    // ((mulhi(top >> 4, b0) + mulhi(bottom >> 4, b1) + 2) >> 2), mulhi(a, b) = (a * b) >> 16.
    const b0 = ys.w0[y]!;
    const b1 = ys.w1[y]!;
    const rowOut = y * W;
    for (let x = 0, i = 0; x < newW; x++, i += 3) {
      const v0 = ((((top[i + c0]! >> 4) * b0) >> 16) + (((bottom[i + c0]! >> 4) * b1) >> 16) + 2) >> 2;
      const v1 = ((((top[i + 1]! >> 4) * b0) >> 16) + (((bottom[i + 1]! >> 4) * b1) >> 16) + 2) >> 2;
      const v2 = ((((top[i + c2]! >> 4) * b0) >> 16) + (((bottom[i + c2]! >> 4) * b1) >> 16) + 2) >> 2;
      const o = rowOut + x;
      blob[o] = ((v0 > 255 ? 255 : v0) - mean) * inv;
      blob[o + plane] = ((v1 > 255 ? 255 : v1) - mean) * inv;
      blob[o + 2 * plane] = ((v2 > 255 ? 255 : v2) - mean) * inv;
    }
  }
  return { blob, scale };
}
