/**
 * One square thumbnail of the face an embedding was made from: the detected box, widened to show
 * hair and chin, cut from the source image and shrunk with libvips (shrink-on-load makes a 1024 px
 * JPEG cheap). The box is in the pixels the detector saw: upright (EXIF applied) and, with the
 * config's `images: resize`, resized; it is mapped back onto the source image here.
 */
import sharp from "sharp";
import type { ImageTransform } from "../source/index.ts";

export interface MakeThumbnailParams {
  /** The source image's encoded bytes. */
  bytes: Uint8Array;
  /** Face box x1, y1, x2, y2 in the embedded image's pixels; null: the centre square of the image. */
  box: readonly [number, number, number, number] | null;
  /** The release's image transform the embed stage applied before detection, if any. */
  transform?: ImageTransform;
  /** Width and height in pixels. */
  size: number;
  /** WebP quality (1-100). */
  quality: number;
  /** Box side x this = the square cut out. */
  margin?: number;
  /** Pixel limit for the input (decompression bombs). */
  maxPixels?: number;
}

/** The box in the upright source image's pixels, undoing the transform's resize (sharp's geometry). */
function sourceBox(box: readonly number[], width: number, height: number, transform?: ImageTransform): number[] {
  if (!transform) return [...box];
  const size = transform.size;
  let sx: number;
  let sy: number;
  let ox = 0;
  let oy = 0;
  if (transform.fit === "fill") {
    sx = size / width;
    sy = size / height;
  } else if (transform.fit === "cover") {
    sx = sy = Math.max(size / width, size / height);
    ox = -(width * sx - size) / 2; // sharp crops the centre
    oy = -(height * sy - size) / 2;
  } else if (transform.fit === "contain") {
    sx = sy = Math.min(size / width, size / height);
    ox = (size - width * sx) / 2; // and letterboxes it in the centre
    oy = (size - height * sy) / 2;
  } else {
    sx = sy = Math.min(size / width, size / height);
  }
  return [(box[0]! - ox) / sx, (box[1]! - oy) / sy, (box[2]! - ox) / sx, (box[3]! - oy) / sy];
}

export async function makeThumbnail(params: MakeThumbnailParams): Promise<Uint8Array> {
  const { size } = params;
  const input = () => sharp(params.bytes, { failOn: "none", limitInputPixels: params.maxPixels ?? 100_000_000 });
  const meta = await input().metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  const width = (turned ? meta.height : meta.width) ?? 0;
  const height = (turned ? meta.width : meta.height) ?? 0;
  if (width < 1 || height < 1) throw new Error("image has no size");
  let side = Math.min(width, height);
  let left = (width - side) / 2;
  let top = (height - side) / 2;
  if (params.box && params.box.every((v) => Number.isFinite(v))) {
    const [x1, y1, x2, y2] = sourceBox(params.box, width, height, params.transform) as [number, number, number, number];
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    side = Math.min(width, height, Math.max(8, Math.max(x2 - x1, y2 - y1) * (params.margin ?? 1.6)));
    left = Math.min(Math.max(0, cx - side / 2), width - side);
    top = Math.min(Math.max(0, cy - side / 2), height - side);
  }
  // Resize the whole image so the square becomes `size` pixels, then cut it out: libvips decodes
  // a JPEG at 1/2, 1/4 or 1/8 scale when the resize allows.
  const scale = size / side;
  const resizedWidth = Math.max(size, Math.round(width * scale));
  const resizedHeight = Math.max(size, Math.round(height * scale));
  const out = await input()
    .rotate()
    .resize(resizedWidth, resizedHeight, { fit: "fill" })
    .extract({
      left: Math.max(0, Math.min(Math.round(left * scale), resizedWidth - size)),
      top: Math.max(0, Math.min(Math.round(top * scale), resizedHeight - size)),
      width: size,
      height: size,
    })
    .removeAlpha()
    .webp({ quality: params.quality })
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
