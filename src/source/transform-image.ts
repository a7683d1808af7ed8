/**
 * The release's image transform (config `images`): resize to `size` x `size` and re-encode. The
 * reference release embeds the transformed 512 px images, not the 1024 px originals
 * (../shared/docs/reference-pipeline.md, "Which pixels are embedded"), so the embed stage runs this
 * before decoding, and the release writes the same bytes.
 */
import sharp from "sharp";

export interface ImageTransform {
  /** Output width and height in pixels. */
  size: number;
  /** How a non-square image meets size x size (sharp's `fit`; "fill" stretches like PIL's resize). */
  fit: "fill" | "cover" | "contain" | "inside";
  /** Resampling filter. */
  kernel: "lanczos3" | "lanczos2" | "mitchell" | "cubic" | "linear" | "nearest";
  /** Output encoding. */
  format: "jpeg" | "png" | "webp";
  /** JPEG/WebP quality, 1-100. */
  quality: number;
}

export interface TransformImageParams {
  /** Pixel limit for the input (decompression bombs). */
  maxPixels?: number;
}

/** Resizes and re-encodes; EXIF orientation is applied first and alpha dropped, as in `decodeImage`. */
export async function transformImage(bytes: Uint8Array, transform: ImageTransform, params: TransformImageParams = {}): Promise<Uint8Array> {
  let pipeline = sharp(bytes, { failOn: "error", limitInputPixels: params.maxPixels ?? true })
    .rotate()
    .toColourspace("srgb")
    .removeAlpha()
    .resize(transform.size, transform.size, { fit: transform.fit, kernel: transform.kernel });
  if (transform.format === "jpeg") pipeline = pipeline.jpeg({ quality: transform.quality });
  else if (transform.format === "webp") pipeline = pipeline.webp({ quality: transform.quality });
  else pipeline = pipeline.png();
  const out = await pipeline.toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
