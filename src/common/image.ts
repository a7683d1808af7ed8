/**
 * The one image type that crosses stage boundaries: `source/` decodes files into it, `faces/`
 * detects, aligns and embeds from it. Packed 8-bit RGB, row-major, no padding.
 */
export interface RgbImage {
  /** width * height * 3 bytes, R G B per pixel, rows top to bottom. */
  data: Uint8Array;
  width: number;
  height: number;
}
