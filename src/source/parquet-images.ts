/**
 * Images stored in Parquet shards, as on the Hub (`jxie/celeba-hq`: `data/train-00000-of-00006-<hash>.parquet`,
 * column `image` = Struct<bytes: Binary, path: Utf8>, see ../shared/docs/hf-parquet-and-card.md), read
 * ROW GROUP BY ROW GROUP: parquet-wasm fetches only the byte ranges of the row group being read, so
 * memory is bounded by one row group whatever the shard size (the real source has 450 MB shards).
 *
 * Bad files fail early and by name. Opening checks every shard's footer and schema: the image
 * column must exist and hold images (a `datasets` Image struct, or plain binary), else a
 * `UsageError` naming the file, the column, its type and the columns there are; a truncated file
 * or a broken footer is one too ("not a readable Parquet file"). A row group that cannot be read
 * (corrupt page or column chunk) stops the run with a `RuntimeError` naming the file and the row
 * group: skipping it would silently lose its rows and shift every later row number, which the
 * labels depend on; a damaged local copy is for the user to fetch again (the embed cache keeps
 * what was done). parquet-wasm runs on a worker thread (`ParquetReader`), so its crash on corrupt
 * data is such an error, not a dead process.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { Type, type Field, type Schema } from "apache-arrow";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { arrowTypeName } from "./arrow-type-name.ts";
import { plainValue, type ImageSource, type SourceImage } from "./image-source.ts";
import { ParquetReader, ParquetReadError } from "./parquet-reader.ts";

export interface ParquetImagesParams {
  /** Shard files in source order (see `selectSplitShards`). */
  files: string[];
  /** Name of the image column: Struct<bytes, path> as `datasets` writes it, or plain Binary. */
  imageColumn?: string;
  /** Other columns to carry along into `SourceImage.extra` (e.g. `label`). */
  passThrough?: string[];
  /** Called with every byte range [start, end) read from a shard (tests check reads stay within a row group). */
  onRead?: (file: string, start: number, end: number) => void;
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

const BINARY = new Set<Type>([Type.Binary, Type.LargeBinary, Type.BinaryView]);
const STRING = new Set<Type>([Type.Utf8, Type.LargeUtf8, Type.Utf8View]);
const EXPECTED_IMAGE = "an image struct {bytes: binary, path: string} (or binary)";

/** Footer of one shard: a `UsageError` naming the file when it is not a readable Parquet file. */
async function openShard(reader: ParquetReader, file: string): Promise<{ schema: Schema; rowGroupRows: number[] }> {
  try {
    return await reader.open(file);
  } catch (error) {
    if (!(error instanceof ParquetReadError)) throw error;
    throw new UsageError(`${file} is not a readable Parquet file: ${error.reason}`);
  }
}

/** The columns must exist, and the image column must hold images (see `EXPECTED_IMAGE`). */
function checkSchema(file: string, schema: Schema, imageColumn: string, passThrough: string[]): void {
  const names = schema.fields.map((f) => f.name);
  for (const column of [imageColumn, ...passThrough]) {
    if (!names.includes(column)) throw new UsageError(`${file}: no column "${column}" (columns: ${names.join(", ") || "none"})`);
  }
  const type = schema.fields.find((f) => f.name === imageColumn)!.type;
  const child = (name: string) => type.children?.find((f: Field) => f.name === name)?.type.typeId;
  const isImage =
    BINARY.has(type.typeId) ||
    (type.typeId === Type.Struct && BINARY.has(child("bytes")!) && (child("path") === undefined || STRING.has(child("path")!)));
  if (!isImage) throw new UsageError(`${file}: column "${imageColumn}" is ${arrowTypeName(type)}, expected ${EXPECTED_IMAGE}`);
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

/** Opens the shards, checks their schemas, and counts rows from the footers (no data read yet). */
export async function openParquetImages(params: ParquetImagesParams): Promise<ImageSource> {
  const imageColumn = params.imageColumn ?? "image";
  const passThrough = params.passThrough ?? [];
  const onRead = params.onRead;
  let total = 0;
  // The reader's thread (a second or two to start on a busy machine) serves the first pass over
  // the images too; idle in between, it does not keep the process alive.
  let spare: ParquetReader | undefined = new ParquetReader({ onRead });
  try {
    for (const file of params.files) {
      const { schema, rowGroupRows } = await openShard(spare, file);
      checkSchema(file, schema, imageColumn, passThrough);
      total += rowGroupRows.reduce((n, rows) => n + rows, 0);
    }
  } catch (error) {
    await spare.close();
    throw error;
  }
  const columns = [imageColumn, ...passThrough];
  return {
    total,
    description: `${params.files.length} Parquet shard(s), ${total} rows`,
    async *images(): AsyncGenerator<SourceImage> {
      const reader = spare ?? new ParquetReader({ onRead });
      spare = undefined;
      try {
        let row = 0;
        for (const file of params.files) {
          const { schema, rowGroupRows } = await openShard(reader, file);
          // Checked when opened; checked again in case the file was replaced since.
          checkSchema(file, schema, imageColumn, passThrough);
          const shardName = relative(join(file, "..", ".."), file).split(sep).join("/");
          let rowInShard = 0;
          for (const [group, groupRows] of rowGroupRows.entries()) {
            const table = await reader.readRowGroup(file, group, columns).catch((error: unknown) => {
              if (!(error instanceof ParquetReadError)) throw error;
              // "k of n" counts from 1; shard rows count from 0, as in the other row messages.
              const rows = groupRows > 0 ? ` (shard rows ${rowInShard}-${rowInShard + groupRows - 1})` : "";
              throw new RuntimeError(`${file}: row group ${group + 1} of ${rowGroupRows.length}${rows} cannot be read: ${error.reason}`);
            });
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
        }
      } finally {
        await reader.close();
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
