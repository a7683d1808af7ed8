/**
 * Thumbnails for the review page, made once and kept in the work dir: one small WebP per image,
 * named by the image's SHA-256 (so a new source revision, re-sharding or re-numbering reuses
 * them), in a folder named by the settings they were made with (size, quality, the transform the
 * face boxes refer to, the detector that found them). The source is opened only when some are
 * missing; a second launch reads nothing but the folder listing.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { ImageSource, ImageTransform } from "../source/index.ts";
import { makeThumbnail } from "./make-thumbnail.ts";

export interface ThumbnailWanted {
  /** Source row (the source yields rows in this numbering). */
  sourceRow: number;
  sha256: string;
  /** Face box x1, y1, x2, y2 in the embedded image's pixels, or null. */
  box: readonly [number, number, number, number] | null;
}

export interface BuildThumbnailCacheParams {
  /** Root of the cache (e.g. `<work dir>/cache/review-thumbnails`); a settings folder is made inside. */
  root: string;
  /** The images to have thumbnails of. */
  wanted: readonly ThumbnailWanted[];
  /** Opens the source; called only when a thumbnail is missing. */
  openSource: () => Promise<ImageSource>;
  /** The release's image transform the face boxes refer to. */
  transform?: ImageTransform;
  /** Text naming the detector settings (a new detector finds other boxes: other thumbnails). */
  detectorKey: string;
  /** Pixels per side (default 128). */
  size?: number;
  /** WebP quality (default 72). */
  quality?: number;
  /** Thumbnails made at once (default 4). */
  concurrency?: number;
  /** Called with (made, to make) as thumbnails are written; the total is known once the cache was listed. */
  onProgress?: (done: number, total: number) => void;
}

export interface ThumbnailCache {
  /** Folder of this settings' thumbnails. */
  dir: string;
  /** Where the thumbnail of an image is (it may be missing when its image could not be read). */
  pathOf: (sha256: string) => string;
  /** Pixels per side. */
  size: number;
  /** Thumbnails made by this call. */
  made: number;
  /** Wanted images whose thumbnail was there already. */
  reused: number;
  /** Images whose thumbnail could not be made, and why. */
  failed: { sourceRow: number; reason: string }[];
  /** Bytes of the thumbnails made by this call. */
  bytesMade: number;
}

export async function buildThumbnailCache(params: BuildThumbnailCacheParams): Promise<ThumbnailCache> {
  const size = params.size ?? 128;
  const quality = params.quality ?? 72;
  const settings = JSON.stringify({ v: 1, size, quality, margin: 1.6, transform: params.transform ?? null, detector: params.detectorKey });
  const dir = join(params.root, `webp-${size}-${createHash("sha256").update(settings).digest("hex").slice(0, 12)}`);
  const pathOf = (sha: string) => join(dir, sha.slice(0, 2), `${sha}.webp`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "settings.json"), settings + "\n");

  const present = new Set<string>();
  for (const entry of await readdir(dir, { recursive: true })) {
    const name = String(entry);
    if (name.endsWith(".webp")) present.add(name.slice(-69, -5));
  }
  const missing = new Map<number, ThumbnailWanted>();
  const seen = new Set<string>();
  const reused = new Set<string>();
  for (const w of params.wanted) {
    if (present.has(w.sha256)) reused.add(w.sha256);
    if (present.has(w.sha256) || seen.has(w.sha256)) continue;
    seen.add(w.sha256);
    missing.set(w.sourceRow, w);
  }
  const failed: ThumbnailCache["failed"] = [];
  let bytesMade = 0;
  let done = 0;
  const reached = new Set<number>();
  if (missing.size > 0) {
    params.onProgress?.(0, missing.size);
    const source = await params.openSource();
    const limit = pLimit(params.concurrency ?? 4);
    const running = new Set<Promise<void>>();
    let left = missing.size;
    for await (const image of source.images()) {
      const want = missing.get(image.row);
      if (!want) continue;
      reached.add(image.row);
      const task = limit(async () => {
        try {
          if (!image.bytes) throw new Error(image.problem ?? "no image bytes");
          const webp = await makeThumbnail({ bytes: image.bytes, box: want.box, transform: params.transform, size, quality });
          bytesMade += webp.byteLength;
          const path = pathOf(want.sha256);
          await mkdir(join(dir, want.sha256.slice(0, 2)), { recursive: true });
          // Written whole then renamed: a killed run leaves no half thumbnail under the real name.
          await writeFile(`${path}.tmp-${process.pid}`, webp);
          await rename(`${path}.tmp-${process.pid}`, path);
        } catch (error) {
          failed.push({ sourceRow: image.row, reason: error instanceof Error ? error.message : String(error) });
        }
        done++;
        params.onProgress?.(done, missing.size);
      });
      running.add(task);
      void task.finally(() => running.delete(task));
      // Keep the reader just ahead of the thumbnailers: the source's bytes are not all held at once.
      if (running.size >= 4 * (params.concurrency ?? 4)) await Promise.race(running);
      if (--left === 0) break;
    }
    await Promise.all(running);
    for (const w of missing.values()) if (!reached.has(w.sourceRow)) failed.push({ sourceRow: w.sourceRow, reason: "the source has no such row (another source revision?)" });
  }
  return { dir, pathOf, size, made: missing.size - failed.length, reused: reused.size, failed, bytesMade };
}
