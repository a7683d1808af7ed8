/**
 * Thumbnails show the detected face: the box is in the pixels the detector saw (EXIF applied, the
 * release's resize applied), and the crop lands on the same spot of the source image.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { makeThumbnail } from "./make-thumbnail.ts";

/** A 400 x 200 image, grey, with a red 40 x 40 square at (300, 40) (in upright pixels). */
async function source(orientation?: number): Promise<Uint8Array> {
  const upright = await sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite([{ input: { create: { width: 40, height: 40, channels: 3, background: { r: 255, g: 0, b: 0 } } }, left: 300, top: 40 }])
    .png()
    .toBuffer();
  if (!orientation) return upright;
  // Stored turned by 90 degrees, with EXIF orientation 6 saying "turn it back".
  const stored = await sharp(upright).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
  return stored;
}

async function centre(webp: Uint8Array): Promise<{ r: number; g: number; size: number }> {
  const { data, info } = await sharp(webp).raw().toBuffer({ resolveWithObject: true });
  const o = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return { r: data[o]!, g: data[o + 1]!, size: info.width };
}

test("the crop is centred on the face box", async () => {
  const thumb = await makeThumbnail({ bytes: await source(), box: [300, 40, 340, 80], size: 64, quality: 90 });
  const c = await centre(thumb);
  assert.equal(c.size, 64);
  assert.ok(c.r > 200 && c.g < 60, `red at the centre: ${JSON.stringify(c)}`);
  const nobox = await centre(await makeThumbnail({ bytes: await source(), box: null, size: 64, quality: 90 }));
  assert.ok(nobox.r < 160 && nobox.g > 100, "without a box: the middle of the image (grey)");
});

test("an EXIF-rotated source: the box is in upright pixels", async () => {
  const thumb = await makeThumbnail({ bytes: await source(6), box: [300, 40, 340, 80], size: 64, quality: 90 });
  const c = await centre(thumb);
  assert.ok(c.r > 200 && c.g < 60, `red at the centre: ${JSON.stringify(c)}`);
});

test("with the release's resize, the box is mapped back (fill, cover, contain, inside)", async () => {
  const bytes = await source();
  const box = { fill: [150, 40, 170, 80], cover: [200, 40, 240, 80], contain: [150, 70, 170, 90], inside: [150, 20, 170, 40] } as const;
  // 400 x 200 -> 200 x 200: fill halves x; cover scales by 1 and crops 100 px each side; contain
  // scales by 0.5 and pads 50 px top and bottom; inside scales by 0.5 (200 x 100).
  for (const fit of ["fill", "cover", "contain", "inside"] as const) {
    const thumb = await makeThumbnail({ bytes, box: box[fit], transform: { size: 200, fit, kernel: "lanczos3", format: "jpeg", quality: 90 }, size: 64, quality: 90 });
    const c = await centre(thumb);
    assert.ok(c.r > 200 && c.g < 60, `${fit}: red at the centre: ${JSON.stringify(c)}`);
  }
});
