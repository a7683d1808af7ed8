/**
 * Reads the embed stage's index (`embeddings-index.parquet` or `.jsonl`, see
 * src/pipeline/embed-outputs.ts): one entry per source row, in source order, with its status and
 * the row of `embeddings.npy` that holds its embedding.
 */
import { readFile } from "node:fs/promises";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { UsageError } from "../common/errors.ts";

export interface EmbedIndexEntry {
  row: number;
  fileName: string;
  imageSha256: string | null;
  status: "ok" | "no_face" | "error";
  reason: string | null;
  /** Row in embeddings.npy, null when the row has no embedding row. */
  embeddingRow: number | null;
}

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === "bigint" ? Number(value) : Number(value);
}

export async function readEmbedIndex(path: string): Promise<EmbedIndexEntry[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read the embed index ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); run idclusters embed first`);
  }
  let records: Record<string, unknown>[];
  if (path.endsWith(".jsonl")) {
    records = bytes
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
  } else {
    let table;
    try {
      table = tableFromIPC(readParquet(bytes).intoIPCStream());
    } catch (error) {
      throw new UsageError(`${path} is not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const name of ["row", "file_name", "status", "embedding_row"]) {
      if (!table.getChild(name)) throw new UsageError(`${path} has no column "${name}"; is it an idclusters embed index?`);
    }
    records = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
  }
  return records.map((r, i) => {
    const status = r.status;
    if (status !== "ok" && status !== "no_face" && status !== "error") throw new UsageError(`${path}: entry ${i} has status ${String(status)}`);
    const row = toNumber(r.row);
    if (row !== i) throw new UsageError(`${path}: entry ${i} is for row ${row}; the index must list every source row in order`);
    return {
      row,
      fileName: String(r.file_name),
      imageSha256: (r.image_sha256 as string | null | undefined) ?? null,
      status,
      reason: (r.reason as string | null | undefined) ?? null,
      embeddingRow: toNumber(r.embedding_row),
    };
  });
}
