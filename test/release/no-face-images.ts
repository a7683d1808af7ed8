/**
 * Test helper: a temp copy of the labelled fixture faces plus two images in which no detector finds
 * a face (plain gradients), as a local `imagefolder` source.
 */
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
export const FACES = join(FIXTURES, "faces", "labelled");
export const NO_FACE_FILES = ["gradient-a.png", "gradient-b.png"] as const;

/** A plain gradient PNG: no detector finds a face in it. */
export async function gradientPng(size: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      pixels[i] = (x * 255) / size;
      pixels[i + 1] = (y * 255) / size;
      pixels[i + 2] = (seed * 97) % 256;
    }
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

/** A temp copy of the labelled faces with two gradient images (no face) at the top level. */
export async function facesWithoutFaces(dir: string): Promise<string> {
  const folder = join(dir, "faces");
  await cp(FACES, folder, { recursive: true });
  for (const [i, name] of NO_FACE_FILES.entries()) await writeFile(join(folder, name), await gradientPng(150, i + 1));
  return folder;
}

