import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeImage, ImageDecodeError, sniffImageFormat } from "./decode-image.ts";
import { transformImage } from "./transform-image.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACE = `${FIXTURES}/faces/group/bbt1.jpg`;

/** A small colour test card: distinct corners so orientation mistakes show. */
async function testCard(): Promise<Buffer> {
  const width = 40;
  const height = 24;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x < width / 2 ? 250 : 10; // red on the left
      data[i + 1] = y < height / 2 ? 240 : 20; // green on top
      data[i + 2] = 128;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function pixel(img: { data: Uint8Array; width: number }, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

async function reason(bytes: Uint8Array): Promise<string> {
  const error = await decodeImage(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(error)}`);
  return error.reason;
}

test("JPEG, PNG and WebP decode to the same 8-bit RGB pixels", async () => {
  const card = await testCard();
  const png = await decodeImage(card);
  assert.equal(png.width, 40);
  assert.equal(png.height, 24);
  assert.equal(png.data.length, 40 * 24 * 3);
  assert.deepEqual(pixel(png, 2, 2), [250, 240, 128]);
  const webp = await decodeImage(await sharp(card).webp({ lossless: true }).toBuffer());
  assert.deepEqual(webp.data, png.data);
  const jpeg = await decodeImage(await sharp(card).jpeg({ quality: 100 }).toBuffer());
  assert.deepEqual([jpeg.width, jpeg.height], [40, 24]);
  const [r, g] = pixel(jpeg, 2, 2);
  assert.ok(r! > 230 && g! > 220, `jpeg top-left ${pixel(jpeg, 2, 2)}`);
});

test("greyscale, CMYK, alpha and 16-bit inputs become 3-channel 8-bit RGB", async () => {
  const card = await testCard();
  const rgb = await decodeImage(card);
  const grey = await decodeImage(await sharp(card).greyscale().png().toBuffer());
  assert.equal(grey.data.length, 40 * 24 * 3);
  const [gr, gg, gb] = pixel(grey, 2, 2);
  assert.ok(gr === gg && gg === gb, "grey pixels have equal channels");

  const cmykJpeg = await sharp(card).toColourspace("cmyk").jpeg({ quality: 100 }).toBuffer();
  assert.equal((await sharp(cmykJpeg).metadata()).space, "cmyk");
  const cmyk = await decodeImage(cmykJpeg);
  assert.equal(cmyk.data.length, 40 * 24 * 3);
  const [cr, cg] = pixel(cmyk, 2, 2);
  assert.ok(cr! > 180 && cg! > 170, `CMYK converted back to red+green-ish, got ${pixel(cmyk, 2, 2)}`);

  const rgba = await decodeImage(await sharp(card).ensureAlpha(0.3).png().toBuffer());
  assert.deepEqual(rgba.data, rgb.data, "alpha is dropped, colour kept");

  const png16 = await sharp(card).toColourspace("rgb16").png().toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, "ushort");
  const deep = await decodeImage(png16);
  assert.equal(deep.data.length, 40 * 24 * 3);
  for (let i = 0; i < deep.data.length; i++) assert.ok(Math.abs(deep.data[i]! - rgb.data[i]!) <= 1);
});

test("EXIF orientation is applied", async () => {
  const card = await testCard();
  // Store the pixels rotated 90 degrees counter-clockwise and tag orientation 6 ("rotate 90 CW to view").
  const stored = await sharp(card).rotate(-90).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  assert.equal((await sharp(stored).metadata()).orientation, 6);
  const upright = await decodeImage(stored);
  assert.deepEqual([upright.width, upright.height], [40, 24]);
  const [r, g] = pixel(upright, 2, 2);
  assert.ok(r! > 230 && g! > 220, `top-left is red+green after orientation, got ${pixel(upright, 2, 2)}`);
  const [r2, g2] = pixel(upright, 37, 21);
  assert.ok(r2! < 30 && g2! < 40, `bottom-right is dark, got ${pixel(upright, 37, 21)}`);
});

test("zero-byte and non-image inputs fail with a reason", async () => {
  assert.match(await reason(new Uint8Array(0)), /empty file/);
  assert.match(await reason(new TextEncoder().encode("name,label\nx,1\n")), /not an image/);
  assert.match(await reason(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>")), /not an image/);
});

test("truncated and corrupt photos fail with a reason", async (t) => {
  if (!existsSync(FACE)) return t.skip("../shared/fixtures missing");
  const jpeg = readFileSync(FACE);
  assert.match(await reason(jpeg.subarray(0, Math.floor(jpeg.length / 2))), /^jpeg cannot be decoded: .*(premature|truncat)/i);
  const corrupt = Buffer.from(jpeg);
  corrupt.fill(0x5a, 3, 400); // keep the SOI marker, destroy the headers
  assert.match(await reason(corrupt), /^jpeg cannot be decoded/);
  const png = await testCard();
  assert.match(await reason(png.subarray(0, png.length - 30)), /^png cannot be decoded/);
});

test("images above the pixel limit are rejected", async () => {
  const card = await testCard();
  const error = await decodeImage(card, { maxPixels: 500 }).catch((e: unknown) => e);
  assert.ok(error instanceof ImageDecodeError);
  assert.match(error.reason, /pixel limit of 500/);
  assert.equal((await decodeImage(card, { maxPixels: 960 })).width, 40);
});

test("sniffImageFormat recognises the signatures", () => {
  assert.equal(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), "jpeg");
  assert.equal(sniffImageFormat(new TextEncoder().encode("GIF89a....")), "gif");
  assert.equal(sniffImageFormat(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 ")), "webp");
  assert.equal(sniffImageFormat(new Uint8Array([1, 2, 3])), undefined);
});

test("AVIF decodes; BMP is refused with a plain reason", async () => {
  const card = await testCard();
  const avif = await sharp(card).avif({ lossless: true }).toBuffer();
  assert.equal(sniffImageFormat(avif), "avif");
  assert.deepEqual([(await decodeImage(avif)).width, (await decodeImage(avif)).height], [40, 24]);
  const bmp = new Uint8Array(60);
  bmp.set([0x42, 0x4d]);
  assert.match(await reason(bmp), /BMP images are not supported/);
});

test("the release transform resizes and re-encodes before decoding", async () => {
  const card = await testCard();
  const transform = { size: 16, fit: "fill", kernel: "lanczos3", format: "jpeg", quality: 95 } as const;
  const encoded = await transformImage(card, transform);
  assert.equal(sniffImageFormat(encoded), "jpeg");
  const resized = await decodeImage(card, { transform });
  assert.deepEqual([resized.width, resized.height], [16, 16]);
  assert.deepEqual(resized.data, (await decodeImage(encoded)).data);
  const [r, g] = pixel(resized, 1, 1);
  assert.ok(r! > 220 && g! > 200, `top-left stays red+green, got ${pixel(resized, 1, 1)}`);
  const error = await decodeImage(new Uint8Array(0), { transform }).catch((e: unknown) => e);
  assert.ok(error instanceof ImageDecodeError);
  assert.match(error.reason, /empty file/);
});
