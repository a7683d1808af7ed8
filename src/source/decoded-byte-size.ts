/**
 * How many bytes of RGB pixels `decodeImage` will return for an encoded image, read from its
 * header alone (no pixel is decoded). The embed stage admits images into decoding by this number,
 * so the pixels in flight stay within a byte budget whatever the image sizes.
 */
import sharp from "sharp";
import { DEFAULT_MAX_PIXELS, sniffImageFormat, type DecodeImageParams } from "./decode-image.ts";

/**
 * width x height x 3 of the decoded image (EXIF rotation keeps the product; alpha, 16 bits and CMYK
 * all leave as 8-bit RGB), or size x size x 3 after the release's transform. 0 for what
 * `decodeImage` rejects before allocating pixels (not an image, unreadable header, above the pixel
 * limit): such a row must not hold budget it will never use.
 */
export async function decodedByteSize(bytes: Uint8Array, params: Pick<DecodeImageParams, "maxPixels" | "transform"> = {}): Promise<number> {
  const format = sniffImageFormat(bytes);
  if (!format || format === "bmp") return 0;
  try {
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (!width || !height || width * height > (params.maxPixels ?? DEFAULT_MAX_PIXELS)) return 0;
    return params.transform ? params.transform.size * params.transform.size * 3 : width * height * 3;
  } catch {
    return 0;
  }
}
