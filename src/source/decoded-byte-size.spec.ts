import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { decodeImage, type DecodeImageParams } from "./decode-image.ts";
import { decodedByteSize } from "./decoded-byte-size.ts";

const create = (width: number, height: number, channels: 3 | 4) =>
  sharp({ create: { width, height, channels, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });

test("the header alone gives the size decodeImage will return, whatever the format and pixel layout", async () => {
  const cases: [string, Buffer, DecodeImageParams][] = [
    ["RGB PNG", await create(40, 30, 3).png().toBuffer(), {}],
    ["RGBA PNG", await create(41, 29, 4).png().toBuffer(), {}],
    ["16-bit PNG", await create(17, 13, 3).toColourspace("rgb16").png().toBuffer(), {}],
    ["greyscale JPEG", await create(33, 21, 3).greyscale().jpeg().toBuffer(), {}],
    ["EXIF-rotated JPEG", await create(30, 40, 3).jpeg().withMetadata({ orientation: 6 }).toBuffer(), {}],
    ["WebP", await create(25, 19, 3).webp().toBuffer(), {}],
    ["resized first", await create(90, 70, 3).png().toBuffer(), { transform: { size: 64, fit: "fill", kernel: "lanczos3", format: "jpeg", quality: 90 } }],
  ];
  for (const [name, bytes, params] of cases) {
    const decoded = await decodeImage(bytes, params);
    assert.equal(await decodedByteSize(bytes, params), decoded.data.length, name);
    assert.equal(decoded.data.length, decoded.width * decoded.height * 3, name);
  }
});

test("what decodeImage rejects without decoding counts 0 bytes", async () => {
  const png = await create(40, 30, 3).png().toBuffer();
  const rejected: [string, Uint8Array, DecodeImageParams][] = [
    ["above the pixel limit", png, { maxPixels: 1000 }],
    ["text", new TextEncoder().encode("not an image\n"), {}],
    ["empty", new Uint8Array(0), {}],
    ["header cut short", png.subarray(0, 12), {}],
  ];
  for (const [name, bytes, params] of rejected) {
    assert.equal(await decodedByteSize(bytes, params), 0, name);
    await assert.rejects(decodeImage(bytes, params), { name: "ImageDecodeError" }, name);
  }
});

test("decoded pixels are sharp's own buffer unless a transferable one is asked for", async () => {
  const png = await create(40, 30, 3).png().toBuffer();
  const own = await decodeImage(png);
  assert.equal(own.data.buffer.byteLength, 40 * 30 * 3, "exactly sized, no pool around it");
  const transferable = await decodeImage(png, { transferable: true });
  assert.deepEqual(transferable.data, own.data);
  const moved = structuredClone(transferable.data, { transfer: [transferable.data.buffer as ArrayBuffer] });
  assert.equal(transferable.data.byteLength, 0, "detached by the transfer");
  assert.deepEqual(moved, own.data);
});
