/**
 * Encoded image bytes -> packed 8-bit RGB (`RgbImage`), the one decode every image goes through.
 *
 * What arrives is whatever a dataset holds: JPEG, PNG, WebP (GIF, TIFF and AVIF too, first frame/page),
 * greyscale, CMYK, with alpha, 16-bit, EXIF-rotated. What leaves is always upright 8-bit sRGB with
 * three channels, so the detector sees what a person sees (OpenCV's `imread`, which the reference
 * pipeline used, applies EXIF orientation and drops alpha the same way).
 */
import sharp from "sharp";
import type { RgbImage } from "../common/image.ts";
import { transformImage, type ImageTransform } from "./transform-image.ts";

// libvips' operation cache (50 MB, 100 operations by default) keeps recent results for when the
// same operation runs again on the same input: never the case here, every image is decoded once.
// Off, so memory goes as soon as an image is done.
sharp.cache(false);

/** Default pixel limit, the config's `faces.max_pixels` default: 100 megapixels (10,000 x 10,000). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "avif" | "bmp";

/** Why an image could not be used; `reason` is a short sentence for reports and the index. */
export class ImageDecodeError extends Error {
  override readonly name = "ImageDecodeError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface DecodeImageParams {
  /** Reject images with more pixels than this (decompression bombs); default `DEFAULT_MAX_PIXELS`. */
  maxPixels?: number;
  /**
   * How strict to be about damaged pixel data (sharp's `failOn`). Default "error": truncated files
   * and decoder errors fail, mere warnings (stray bytes a camera left behind) do not.
   */
  failOn?: "truncated" | "error" | "warning";
  /** Resize and re-encode first (the release's `images` transform), then decode the result. */
  transform?: ImageTransform;
  /**
   * Return the pixels in a buffer that `postMessage` can transfer (decode workers). That costs a
   * copy; by default sharp's own buffer is handed over as it is, so a 10^8-pixel image occupies its
   * 300 MB once, not twice.
   */
  transferable?: boolean;
}

/**
 * Recognises the container from its first bytes. sharp would also accept SVG, PDF and raw
 * formats from arbitrary text; a dataset row that is not a bitmap image is a bad row, not a
 * picture to render, so only these magic numbers pass.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const at = (i: number) => bytes[i] ?? -1;
  const ascii = (start: number, text: string) => [...text].every((c, i) => at(start + i) === c.charCodeAt(0));
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return "jpeg";
  if (at(0) === 0x89 && ascii(1, "PNG\r\n\x1a\n")) return "png";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "webp";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "gif";
  if ((ascii(0, "II") && at(2) === 42 && at(3) === 0) || (ascii(0, "MM") && at(2) === 0 && at(3) === 42)) return "tiff";
  if (ascii(4, "ftypavif") || ascii(4, "ftypavis")) return "avif";
  if (ascii(0, "BM") && bytes.length > 26) return "bmp";
  return undefined;
}

/** Decodes one encoded image; throws `ImageDecodeError` with a readable reason for any bad input. */
export async function decodeImage(bytes: Uint8Array, params: DecodeImageParams = {}): Promise<RgbImage> {
  if (bytes.length === 0) throw new ImageDecodeError("empty file (0 bytes)");
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageDecodeError("not an image (no JPEG, PNG, WebP, GIF, TIFF or AVIF signature)");
  // datasets' imagefolder lists .bmp files, but libvips (sharp) cannot read them: say so plainly.
  if (format === "bmp") throw new ImageDecodeError("BMP images are not supported by the decoder (convert them to PNG)");
  const maxPixels = params.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (params.transform) {
    try {
      bytes = await transformImage(bytes, params.transform, { maxPixels });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/pixel limit/i.test(message)) throw new ImageDecodeError(`${format} larger than the pixel limit of ${maxPixels} pixels`);
      throw new ImageDecodeError(`${format} cannot be decoded: ${message.trim().split("\n")[0]}`);
    }
  }
  try {
    const { data, info } = await sharp(bytes, {
      failOn: params.failOn ?? "error",
      limitInputPixels: maxPixels,
      sequentialRead: true,
    })
      .rotate() // EXIF orientation
      .toColourspace("srgb") // greyscale, CMYK (through sharp's CMYK profile) and 16-bit -> 8-bit sRGB
      .removeAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(`decoded to ${info.channels} channels, expected 3`);
    // sharp's Buffer owns its whole (external) ArrayBuffer: use it as it is, unless a worker must
    // transfer it (external buffers are not transferable) or it is a view into a larger allocation.
    const whole = data.byteOffset === 0 && data.buffer.byteLength === data.byteLength;
    const pixels = whole && !params.transferable ? new Uint8Array(data.buffer, 0, data.byteLength) : new Uint8Array(data);
    return { data: pixels, width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new ImageDecodeError(`${format} larger than the pixel limit of ${maxPixels} pixels`);
    }
    throw new ImageDecodeError(`${format} cannot be decoded: ${message.trim().split("\n")[0]}`);
  }
}
