/** Runs test/faces/opencv-reference.py with Debian's /usr/bin/python3 when it has cv2 + skimage. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RgbImage } from "../../src/common/image.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./opencv-reference.py", import.meta.url));

let available: boolean | undefined;
/** True when /usr/bin/python3 can import cv2 and skimage. */
export function opencvPythonAvailable(): boolean {
  available ??= spawnSync(PYTHON, ["-c", "import cv2, skimage"], { stdio: "ignore" }).status === 0;
  return available;
}
export const NO_PYTHON = "/usr/bin/python3 with cv2 and skimage (python3-opencv, python3-skimage) missing";

/** Writes images as raw RGB files in a fresh temp dir so Python sees exactly our pixels. */
export function writeRaw(images: readonly RgbImage[]): { dir: string; items: { raw: string; width: number; height: number }[] } {
  const dir = mkdtempSync(join(tmpdir(), "idclusters-faces-ref-"));
  const items = images.map((img, i) => {
    const raw = join(dir, `${i}.in.rgb`);
    writeFileSync(raw, img.data);
    return { raw, width: img.width, height: img.height };
  });
  return { dir, items };
}

export function runReference<T>(request: unknown): T {
  const result = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`opencv-reference.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
