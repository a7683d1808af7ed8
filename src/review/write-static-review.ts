/**
 * A self-contained copy of the review page for a person without the build machine: index.html
 * with the data inside, the page's script and style files, and the thumbnails as files beside it
 * (thumbs/<sha256>.webp). It works from file:// (no server, no module scripts); its Save
 * downloads the decisions file, to be put where the config's `clustering.overrides` points.
 *
 * Nothing the tool did not create is deleted or overwritten: the folder must be new, empty, or one
 * this function wrote before (its marker `.idclusters-review.json` lists the files it wrote; only
 * those are replaced or removed).
 */
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { PAGE_ASSETS, PAGE_DIR, reviewPageHtml } from "./review-page-html.ts";
import type { ReviewData } from "./review-types.ts";

export const STATIC_MARKER = ".idclusters-review.json";

export interface WriteStaticReviewParams {
  /** The folder to write. */
  dir: string;
  /** The page's data (mode "static", thumbs.base "thumbs/"). */
  data: ReviewData;
  /** Path of an image's thumbnail in the cache, by SHA-256 (missing ones are left out). */
  thumbnailOf: (sha256: string) => string;
  /** Called with (copied, total) as thumbnails are copied. */
  onProgress?: (done: number, total: number) => void;
}

export interface WriteStaticReviewResult {
  /** The page to open. */
  index: string;
  /** Files written (page, assets, thumbnails) and their bytes. */
  files: number;
  bytes: number;
}

interface Marker {
  tool: string;
  files: string[];
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  const text = await readFile(join(dir, STATIC_MARKER), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const marker = JSON.parse(text) as Marker;
    if (Array.isArray(marker.files)) return marker;
  } catch {
    // fall through: a marker we cannot read proves nothing
  }
  throw new UsageError(`${join(dir, STATIC_MARKER)} is not a marker idclusters wrote; choose a new or empty folder for --static`);
}

export async function writeStaticReview(params: WriteStaticReviewParams): Promise<WriteStaticReviewResult> {
  const { dir, data } = params;
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new UsageError(`--static ${dir}: not a folder`);
  const entries = info ? await readdir(dir) : [];
  const previous = entries.length > 0 ? await readMarker(dir) : undefined;
  if (entries.length > 0 && !previous) {
    throw new UsageError(`--static ${dir}: the folder is not empty and was not written by idclusters review (no ${STATIC_MARKER}); choose a new or empty folder`);
  }

  const shas = [...new Set(data.rows.sha)];
  const thumbs: string[] = [];
  for (const sha of shas) if (await stat(params.thumbnailOf(sha)).catch(() => undefined)) thumbs.push(sha);
  const files = ["index.html", ...Object.keys(PAGE_ASSETS), ...thumbs.map((sha) => `thumbs/${sha}.webp`)];
  const ours = new Set(previous?.files ?? []);
  // A file we did not write must not be in our way.
  const existing = new Set((info ? await readdir(dir, { recursive: true }) : []).map(String));
  const blocking = files.filter((f) => existing.has(f) && !ours.has(f));
  if (blocking.length > 0) throw new UsageError(`--static ${dir}: ${blocking[0]} is in the way and was not written by idclusters review; choose a new or empty folder`);

  await mkdir(join(dir, "thumbs"), { recursive: true });
  // The marker first: a copy interrupted halfway is still recognised as ours next time.
  const planned = new Set(files);
  const stale = [...ours].filter((f) => !planned.has(f));
  await writeFile(join(dir, STATIC_MARKER), JSON.stringify({ tool: "idclusters review --static", files: [...files, ...stale] }, null, 1) + "\n");
  for (const file of stale) await rm(join(dir, file), { force: true });

  let bytes = 0;
  const html = await reviewPageHtml({ assetQuery: "", data });
  await writeFile(join(dir, "index.html"), html);
  bytes += Buffer.byteLength(html);
  for (const [name, asset] of Object.entries(PAGE_ASSETS)) {
    await copyFile(`${PAGE_DIR}${asset.file}`, join(dir, name));
    bytes += (await stat(join(dir, name))).size;
  }
  let done = 0;
  for (const sha of thumbs) {
    const to = join(dir, "thumbs", `${sha}.webp`);
    await copyFile(params.thumbnailOf(sha), to);
    bytes += (await stat(to)).size;
    params.onProgress?.(++done, thumbs.length);
  }
  await writeFile(join(dir, STATIC_MARKER), JSON.stringify({ tool: "idclusters review --static", files }, null, 1) + "\n");
  return { index: join(dir, "index.html"), files: files.length, bytes };
}
