/**
 * A local folder of images read with the Hub's `imagefolder` convention, in the row order
 * `datasets.load_dataset("imagefolder", data_dir=...)` gives:
 *
 * - Without metadata: every file with an image extension, recursively, hidden files and folders
 *   (names starting with "." or "__") skipped, sorted by relative POSIX path (code-point order, as
 *   `datasets` sorts resolved data files).
 * - With `metadata.csv` / `metadata.jsonl` files: their rows, metadata files sorted by path, rows in
 *   file order; `file_name` is relative to the metadata file's folder and every other column passes
 *   through. Listed files that are missing become rows with a problem; images present but not listed
 *   are skipped with a warning (datasets does not load them either).
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { join, posix, relative, sep } from "node:path";
import { UsageError } from "../common/errors.ts";
import { log } from "../common/logger.ts";
import type { ImageSource, SourceImage } from "./image-source.ts";

/** Extensions `imagefolder` picks up (a subset of datasets' IMAGE_EXTENSIONS that covers what people store). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif"];

const METADATA_NAMES = new Set(["metadata.csv", "metadata.jsonl"]);

export interface ImageFolderParams {
  /** The folder to read. */
  folder: string;
}

export interface ImageFolderEntry {
  /** Path relative to the folder, POSIX separators: the row's `file_name`. */
  fileName: string;
  /** Absolute path on disk. */
  path: string;
  /** Metadata columns other than `file_name` (empty without metadata). */
  extra: Record<string, unknown>;
  /** Set when the metadata names a file that does not exist. */
  problem?: string;
}

function isHidden(name: string): boolean {
  return name.startsWith(".") || name.startsWith("__");
}

function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

async function walk(folder: string): Promise<{ images: string[]; metadata: string[] }> {
  const images: string[] = [];
  const metadata: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (isHidden(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await visit(full);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        const rel = relative(folder, full).split(sep).join("/");
        if (METADATA_NAMES.has(entry.name)) metadata.push(rel);
        else if (hasImageExtension(entry.name)) images.push(rel);
      }
    }
  };
  await visit(folder);
  const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { images: images.sort(byCodePoint), metadata: metadata.sort(byCodePoint) };
}

/** Splits CSV text into records (RFC 4180: quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => !(r.length === 1 && r[0] === ""));
}

async function readMetadataRows(file: string): Promise<Record<string, unknown>[]> {
  if (file.endsWith(".csv")) {
    const text = (await readFile(file, "utf8")).replace(/^\uFEFF/, "");
    const [header, ...rows] = parseCsv(text);
    if (!header) return [];
    return rows.map((cells, i) => {
      if (cells.length !== header.length) {
        throw new UsageError(`${file}: line ${i + 2} has ${cells.length} fields, the header has ${header.length}`);
      }
      return Object.fromEntries(header.map((name, j) => [name, cells[j]]));
    });
  }
  const rows: Record<string, unknown>[] = [];
  let lineNumber = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    lineNumber++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${file}: line ${lineNumber} is not JSON: ${(error as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UsageError(`${file}: line ${lineNumber} is not a JSON object`);
    }
    rows.push(value as Record<string, unknown>);
  }
  return rows;
}

/** Lists the folder's rows in `datasets` order (see the file comment). */
export async function listImageFolder(params: ImageFolderParams): Promise<ImageFolderEntry[]> {
  const folder = params.folder;
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`image folder ${folder} does not exist or is not a folder`);
  const { images, metadata } = await walk(folder);
  if (metadata.length === 0) {
    return images.map((fileName) => ({ fileName, path: join(folder, fileName), extra: {} }));
  }

  const entries: ImageFolderEntry[] = [];
  const listed = new Set<string>();
  const present = new Set(images);
  for (const metadataFile of metadata) {
    const base = posix.dirname(metadataFile);
    const rows = await readMetadataRows(join(folder, metadataFile));
    rows.forEach((row, i) => {
      const name = row.file_name;
      if (typeof name !== "string" || name === "") {
        throw new UsageError(`${join(folder, metadataFile)}: row ${i + 1} has no file_name`);
      }
      const fileName = posix.normalize(base === "." ? name : `${base}/${name}`);
      const { file_name: _ignored, ...extra } = row;
      const entry: ImageFolderEntry = { fileName, path: join(folder, ...fileName.split("/")), extra };
      if (!present.has(fileName)) entry.problem = `listed in ${metadataFile} but not found in the folder`;
      listed.add(fileName);
      entries.push(entry);
    });
  }
  const unlisted = images.filter((name) => !listed.has(name));
  if (unlisted.length > 0) {
    log.warn(
      `${unlisted.length} image(s) in ${folder} are not listed in its metadata and are skipped (as datasets does), e.g. ${unlisted[0]}`,
    );
  }
  return entries;
}

/** The folder as an `ImageSource`: files are read lazily, one at a time, in row order. */
export async function openImageFolder(params: ImageFolderParams): Promise<ImageSource> {
  const entries = await listImageFolder(params);
  return {
    total: entries.length,
    description: `image folder ${params.folder} (${entries.length} images)`,
    async *images(): AsyncGenerator<SourceImage> {
      for (const [row, entry] of entries.entries()) {
        const image: SourceImage = { row, fileName: entry.fileName, extra: entry.extra };
        if (entry.problem) image.problem = entry.problem;
        else {
          try {
            const buffer = await readFile(entry.path);
            image.bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
          } catch (error) {
            image.problem = `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
          }
        }
        yield image;
      }
    },
  };
}
