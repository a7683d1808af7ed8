/**
 * Writes what the embed stage produces, deterministically (same rows -> same bytes, no timestamps)
 * and atomically (temporary file + rename, so a killed run never leaves a half-written output):
 *
 * - `embeddings.npy`: float32 [n, d], numpy-readable, rows in source order. Policy `drop` (the
 *   release default) keeps only rows with status `ok`; policy `keep` has one row per source row,
 *   zeros where there is no embedding (`no_face` or `error`), so row i is source row i.
 * - the index, Parquet (`embeddings-index.parquet`) or JSON lines (`.jsonl`), one entry per SOURCE
 *   row in source order, every row whatever its status, with `embedding_row` = its row in the .npy
 *   (null when dropped).
 */
import { Field, Float64, Int64, List, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";
import { encodeNpy } from "../common/npy.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";

export type EmbedStatus = "ok" | "no_face" | "error";

/** Everything known about one source row after the embed stage. */
export interface EmbedRow {
  row: number;
  fileName: string;
  /** SHA-256 of the encoded image; null when the bytes could not be read. */
  imageSha256: string | null;
  status: EmbedStatus;
  /** Why the row has no embedding (decode failure, missing file, no face). */
  reason: string | null;
  facesFound: number;
  score: number | null;
  box: [number, number, number, number] | null;
  landmarks: [number, number][] | null;
  embedding: Float32Array | null;
}

export interface EmbedOutputParams {
  rows: readonly EmbedRow[];
  /** Embedding width (used for the zero rows of `keep` and for an empty result). */
  dim: number;
  /** What to do with rows without an embedding. */
  noFace: "drop" | "keep";
  /** `.npy` path. */
  embeddingsPath: string;
  /** Index path; `.jsonl` writes JSON lines, anything else Parquet. */
  indexPath?: string;
}

/** Row of the .npy each source row lands in (null when dropped). */
export function embeddingRows(rows: readonly EmbedRow[], noFace: "drop" | "keep"): (number | null)[] {
  let next = 0;
  return rows.map((r) => (noFace === "keep" || r.status === "ok" ? next++ : null));
}

export function embeddingMatrix(rows: readonly EmbedRow[], dim: number, noFace: "drop" | "keep"): { shape: [number, number]; data: Float32Array } {
  const kept = noFace === "keep" ? rows : rows.filter((r) => r.status === "ok");
  const data = new Float32Array(kept.length * dim);
  kept.forEach((r, i) => {
    if (r.status !== "ok" || !r.embedding) return;
    if (r.embedding.length !== dim) throw new Error(`row ${r.row}: embedding has ${r.embedding.length} values, expected ${dim}`);
    data.set(r.embedding, i * dim);
  });
  return { shape: [kept.length, dim], data };
}

function indexTable(rows: readonly EmbedRow[], noFace: "drop" | "keep"): Table {
  const positions = embeddingRows(rows, noFace);
  const float64List = new List(new Field("item", new Float64(), true));
  return new Table({
    row: vectorFromArray(rows.map((r) => BigInt(r.row)), new Int64()),
    file_name: vectorFromArray(rows.map((r) => r.fileName), new Utf8()),
    image_sha256: vectorFromArray(rows.map((r) => r.imageSha256), new Utf8()),
    status: vectorFromArray(rows.map((r) => r.status), new Utf8()),
    reason: vectorFromArray(rows.map((r) => r.reason), new Utf8()),
    embedding_row: vectorFromArray(positions.map((p) => (p === null ? null : BigInt(p))), new Int64()),
    faces_found: vectorFromArray(rows.map((r) => BigInt(r.facesFound)), new Int64()),
    det_score: vectorFromArray(rows.map((r) => r.score), new Float64()),
    box: vectorFromArray(rows.map((r) => r.box), float64List),
    // x0, y0, x1, y1, ... for the 5 points: flat so pandas and numpy read it without nesting.
    landmarks: vectorFromArray(rows.map((r) => r.landmarks?.flat() ?? null), float64List),
  });
}

export function encodeIndexParquet(rows: readonly EmbedRow[], noFace: "drop" | "keep"): Uint8Array {
  const properties = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setMaxRowGroupSize(100_000).build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(indexTable(rows, noFace), "stream")), properties);
}

export function encodeIndexJsonl(rows: readonly EmbedRow[], noFace: "drop" | "keep"): string {
  const positions = embeddingRows(rows, noFace);
  return rows
    .map((r, i) =>
      JSON.stringify({
        row: r.row,
        file_name: r.fileName,
        status: r.status,
        score: r.score,
        box: r.box,
        landmarks: r.landmarks,
        embedding_row: positions[i],
        image_sha256: r.imageSha256,
        faces_found: r.facesFound,
        ...(r.reason === null ? {} : { reason: r.reason }),
      }),
    )
    .map((line) => line + "\n")
    .join("");
}

export async function writeEmbedOutputs(params: EmbedOutputParams): Promise<void> {
  await writeFileAtomic(params.embeddingsPath, encodeNpy(embeddingMatrix(params.rows, params.dim, params.noFace)));
  if (params.indexPath) {
    const index = params.indexPath.endsWith(".jsonl")
      ? encodeIndexJsonl(params.rows, params.noFace)
      : encodeIndexParquet(params.rows, params.noFace);
    await writeFileAtomic(params.indexPath, index);
  }
}
