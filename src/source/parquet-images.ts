/**
 * Images stored in Parquet shards, as on the Hub (`jxie/celeba-hq`: `data/train-00000-of-00006-<hash>.parquet`,
 * column `image` = Struct<bytes: Binary, path: Utf8>, see ../shared/docs/hf-parquet-and-card.md), read
 * ROW GROUP BY ROW GROUP: the file is opened as a Blob, parquet-wasm fetches only the byte ranges of
 * the row group being read, so memory is bounded by one row group whatever the shard size (the real
 * source has 450 MB shards).
 */
import { openAsBlob } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { ParquetFile } from "parquet-wasm";
import { UsageError } from "../common/errors.ts";
import { plainValue, type ImageSource, type SourceImage } from "./image-source.ts";

/** Something parquet-wasm can read ranges from: a `Blob` (tests wrap one to watch the reads). */
export interface ByteRangeSource {
  readonly size: number;
  slice(start?: number, end?: number): Blob;
}

export interface ParquetImagesParams {
  /** Shard files in source order (see `selectSplitShards`). */
  files: string[];
  /** Name of the image column: Struct<bytes, path> as `datasets` writes it, or plain Binary. */
  imageColumn?: string;
  /** Other columns to carry along into `SourceImage.extra` (e.g. `label`). */
  passThrough?: string[];
  /** Opens a file for range reads; defaults to `fs.openAsBlob` (tests inject a recording wrapper). */
  openFile?: (path: string) => Promise<ByteRangeSource>;
}

/**
 * The shards of one split in a snapshot folder, by the Hub's default data-files rule for the
 * `data/` layout: files under `data/` named `{split}-*.parquet` (the `-{i}-of-{n}[-hash]` suffix
 * `push_to_hub` writes), sorted by path, which is also row order.
 */
export async function selectSplitShards(params: { snapshotDir: string; split: string }): Promise<string[]> {
  const dataDir = join(params.snapshotDir, "data");
  const all = await readdir(dataDir, { recursive: true, encoding: "utf8" }).catch(() => {
    throw new UsageError(`${params.snapshotDir} has no data/ folder with Parquet shards`);
  });
  const shards = all
    .map((f) => f.split(sep).join("/"))
    .filter((f) => {
      const base = f.split("/").pop() ?? "";
      return base.startsWith(`${params.split}-`) && base.endsWith(".parquet");
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (shards.length === 0) {
    throw new UsageError(`no Parquet shards for split "${params.split}" under ${dataDir} (expected data/${params.split}-*.parquet)`);
  }
  return shards.map((f) => join(dataDir, f));
}

async function openShard(path: string, openFile: ParquetImagesParams["openFile"]): Promise<ParquetFile> {
  const handle = openFile ? await openFile(path) : await openAsBlob(path);
  try {
    return await ParquetFile.fromFile(handle as Blob);
  } catch (error) {
    throw new UsageError(`${path} is not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function imageBytesOf(cell: unknown): { bytes?: Uint8Array; path?: string } {
  if (cell instanceof Uint8Array) return { bytes: cell };
  if (cell && typeof cell === "object") {
    const struct = cell as { bytes?: unknown; path?: unknown };
    return {
      bytes: struct.bytes instanceof Uint8Array ? struct.bytes : undefined,
      path: typeof struct.path === "string" && struct.path !== "" ? struct.path : undefined,
    };
  }
  return {};
}

/** Opens the shards, checks the columns exist, and counts rows from the footers (no data read yet). */
export async function openParquetImages(params: ParquetImagesParams): Promise<ImageSource> {
  const imageColumn = params.imageColumn ?? "image";
  const passThrough = params.passThrough ?? [];
  let total = 0;
  for (const file of params.files) {
    const shard = await openShard(file, params.openFile);
    try {
      const schema = shard.schema();
      for (const column of [imageColumn, ...passThrough]) {
        let index = -1;
        try {
          index = schema.indexOf(column);
        } catch {
          // parquet-wasm throws for an unknown name
        }
        if (index < 0) throw new UsageError(`${file} has no column "${column}"`);
      }
      total += shard.metadata().fileMetadata().numRows();
    } finally {
      shard.free();
    }
  }
  const columns = [imageColumn, ...passThrough];
  return {
    total,
    description: `${params.files.length} Parquet shard(s), ${total} rows`,
    async *images(): AsyncGenerator<SourceImage> {
      let row = 0;
      for (const file of params.files) {
        const shard = await openShard(file, params.openFile);
        const shardName = relative(join(file, "..", ".."), file).split(sep).join("/");
        try {
          const groups = shard.metadata().numRowGroups();
          let rowInShard = 0;
          for (let group = 0; group < groups; group++) {
            const wasmTable = await shard.read({ rowGroups: [group], columns });
            const table = tableFromIPC(wasmTable.intoIPCStream());
            const images = table.getChild(imageColumn);
            const extras = passThrough.map((name) => [name, table.getChild(name)] as const);
            for (let i = 0; i < table.numRows; i++, row++, rowInShard++) {
              const { bytes, path } = imageBytesOf(images?.get(i));
              const extra: Record<string, unknown> = {};
              for (const [name, vector] of extras) extra[name] = plainValue(vector?.get(i) ?? null);
              const image: SourceImage = { row, fileName: path ?? `${shardName}#${rowInShard}`, extra };
              if (bytes) image.bytes = bytes;
              else image.problem = `row ${rowInShard} of ${shardName} has no image bytes`;
              yield image;
            }
          }
        } finally {
          shard.free();
        }
      }
    },
  };
}

/** True when `path` looks like a Parquet snapshot rather than an image folder (has data/*.parquet). */
export async function isParquetSnapshot(path: string): Promise<boolean> {
  const dataDir = join(path, "data");
  if (!(await stat(dataDir).catch(() => undefined))?.isDirectory()) return false;
  const files = await readdir(dataDir, { recursive: true, encoding: "utf8" });
  return files.some((f) => f.endsWith(".parquet"));
}
