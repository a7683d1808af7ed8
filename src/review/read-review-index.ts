/**
 * The embed index (`embeddings-index.parquet`, or `.jsonl`) as review needs it: per source row its
 * file name, image SHA-256, status, embeddings row and detected face box, column by column. The
 * release stage's readEmbedIndex makes one object per row and leaves the box out; at 28k rows
 * that costs a second of the review's start, so only these six columns are read, as arrays.
 */
import { readFile } from "node:fs/promises";
import { tableFromIPC, type Vector } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { UsageError } from "../common/errors.ts";

export interface ReviewIndex {
  fileName: string[];
  /** Null when the image could not be read. */
  sha256: (string | null)[];
  status: ("ok" | "no_face" | "error")[];
  /** Row of embeddings.npy, -1 when the row has none. */
  embeddingRow: Int32Array;
  /** x1, y1, x2, y2 per row (4 values per row); NaN where there is no box. */
  box: Float64Array;
}

export interface ReadReviewIndexParams {
  /** `embeddings-index.parquet` (a `.jsonl` path is read as JSON lines). */
  indexPath: string;
}

const STATUSES = new Set(["ok", "no_face", "error"]);

function fromRecords(records: Record<string, unknown>[]): ReviewIndex {
  const box = new Float64Array(records.length * 4).fill(Number.NaN);
  records.forEach((r, i) => {
    const b = r.box as number[] | null | undefined;
    if (Array.isArray(b) && b.length === 4) box.set(b, i * 4);
  });
  return {
    fileName: records.map((r) => String(r.file_name)),
    sha256: records.map((r) => (r.image_sha256 as string | null | undefined) ?? null),
    status: records.map((r) => r.status as ReviewIndex["status"][number]),
    embeddingRow: Int32Array.from(records, (r) => (r.embedding_row === null || r.embedding_row === undefined ? -1 : Number(r.embedding_row))),
    box,
  };
}

/** The values of a List<Float64> column, 4 per row, straight from its buffers. */
function boxesOf(column: Vector | null, rows: number): Float64Array {
  const out = new Float64Array(rows * 4).fill(Number.NaN);
  if (!column) return out;
  let row = 0;
  for (const chunk of column.data) {
    const offsets = chunk.valueOffsets as Int32Array;
    const values = chunk.children[0]!.values as Float64Array;
    for (let i = 0; i < chunk.length; i++, row++) {
      const from = offsets[chunk.offset + i]!;
      if (chunk.nullCount > 0 && !chunk.getValid(i)) continue;
      if (offsets[chunk.offset + i + 1]! - from === 4) out.set(values.subarray(from, from + 4), row * 4);
    }
  }
  return out;
}

export async function readReviewIndex(params: ReadReviewIndexParams): Promise<ReviewIndex> {
  const path = params.indexPath;
  const bytes = await readFile(path);
  let index: ReviewIndex;
  let rowNumbers: ArrayLike<number | bigint>;
  if (path.endsWith(".jsonl")) {
    const records = bytes
      .toString("utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line, i) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new UsageError(`${path}:${i + 1}: not a JSON line`);
        }
      });
    index = fromRecords(records);
    rowNumbers = records.map((r) => Number(r.row));
  } else {
    let table;
    try {
      table = tableFromIPC(readParquet(bytes, { columns: ["row", "file_name", "image_sha256", "status", "embedding_row", "box"] }).intoIPCStream());
    } catch (error) {
      throw new UsageError(`${path} is not an idclusters embed index (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
    }
    const column = (name: string) => {
      const c = table.getChild(name);
      if (!c) throw new UsageError(`${path} has no column "${name}"; is it an idclusters embed index?`);
      return c;
    };
    const embedding = column("embedding_row");
    const embeddingRow = new Int32Array(table.numRows);
    for (let i = 0; i < table.numRows; i++) {
      const v = embedding.get(i) as bigint | number | null;
      embeddingRow[i] = v === null ? -1 : Number(v);
    }
    index = {
      fileName: column("file_name").toArray() as string[],
      sha256: Array.from(column("image_sha256").toArray() as (string | null)[], (v) => v ?? null),
      status: column("status").toArray() as ReviewIndex["status"],
      embeddingRow,
      box: boxesOf(table.getChild("box"), table.numRows),
    };
    rowNumbers = column("row").toArray() as BigInt64Array;
  }
  for (let i = 0; i < index.status.length; i++) {
    if (Number(rowNumbers[i]) !== i) throw new UsageError(`${path}: entry ${i} is for row ${rowNumbers[i]}; the index must list every source row in order`);
    if (!STATUSES.has(index.status[i]!)) throw new UsageError(`${path}: entry ${i} has status ${String(index.status[i])}`);
  }
  return index;
}
