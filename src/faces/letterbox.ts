/**
 * Detector input: the image scaled to fit inside the detection size keeping its aspect ratio,
 * placed at the top-left of a zero image, written straight into an NCHW float blob.
 * reference-pipeline.md "Detection (SCRFD)": letterbox to the top-left, remember the scale.
 * The size arithmetic and the bilinear resize follow InsightFace's SCRFD.detect (int() truncation
 * of the new side, cv2.resize INTER_LINEAR: half-pixel centres, edge clamp, no antialiasing,
 * result rounded to 8 bits before normalisation).
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

interface AxisMap {
  index: Int32Array;
  weight: Float32Array;
}

/** cv2.resize INTER_LINEAR source positions for one axis. */
function axisMap(src: number, dst: number): AxisMap {
  const index = new Int32Array(dst);
  const weight = new Float32Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const f = (d + 0.5) * scale - 0.5;
    let i = Math.floor(f);
    let w = f - i;
    if (i < 0) {
      i = 0;
      w = 0;
    }
    if (i >= src - 1) {
      i = src - 1;
      w = 0;
    }
    index[d] = i;
    weight[d] = w;
  }
  return { index, weight };
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
  blob.fill(pad, 0, plane * 3);
  const xs = axisMap(image.width, newW);
  const ys = axisMap(image.height, newH);
  const src = image.data;
  const stride = image.width * 3;
  const inv = 1 / params.std;
  const mean = params.mean;
  // Blob planes in the requested order: plane k holds source channel ch[k].
  const c0 = params.bgr ? 2 : 0;
  const c2 = params.bgr ? 0 : 2;
  const xIndex = xs.index;
  const xWeight = xs.weight;
  for (let y = 0; y < newH; y++) {
    const sy = ys.index[y]!;
    const wy = ys.weight[y]!;
    const row0 = sy * stride;
    const row1 = (wy > 0 ? sy + 1 : sy) * stride;
    const rowOut = y * W;
    for (let x = 0; x < newW; x++) {
      const sx = xIndex[x]!;
      const wx = xWeight[x]!;
      const a = row0 + sx * 3;
      const b = wx > 0 ? a + 3 : a;
      const c = row1 + sx * 3;
      const d = wx > 0 ? c + 3 : c;
      const w00 = (1 - wx) * (1 - wy);
      const w01 = wx * (1 - wy);
      const w10 = (1 - wx) * wy;
      const w11 = wx * wy;
      const o = rowOut + x;
      const v0 = Math.round(src[a + c0]! * w00 + src[b + c0]! * w01 + src[c + c0]! * w10 + src[d + c0]! * w11);
      const v1 = Math.round(src[a + 1]! * w00 + src[b + 1]! * w01 + src[c + 1]! * w10 + src[d + 1]! * w11);
      const v2 = Math.round(src[a + c2]! * w00 + src[b + c2]! * w01 + src[c + c2]! * w10 + src[d + c2]! * w11);
      blob[o] = (v0 - mean) * inv;
      blob[o + plane] = (v1 - mean) * inv;
      blob[o + 2 * plane] = (v2 - mean) * inv;
    }
  }
  return { blob, scale };
}
