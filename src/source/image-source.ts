/**
 * What every image source yields: the encoded bytes of each row, in source order, with a stable
 * identity. Labels downstream depend on row order (DBSCAN numbers clusters by first row,
 * ../shared/docs/reference-pipeline.md "Clustering"), so sources never reorder.
 */

export interface SourceImage {
  /** Global row index in source order, 0-based, across all shards / metadata files. */
  row: number;
  /** The row's file name: `image.path` in a Parquet shard, the path relative to the folder otherwise. */
  fileName: string;
  /** The encoded file (JPEG, PNG, ...); undefined when it could not be read (see `problem`). */
  bytes?: Uint8Array;
  /** Why there are no bytes (missing file, null cell); such rows are reported, never dropped silently. */
  problem?: string;
  /** Other columns of the row (Parquet pass-through columns, metadata.csv/jsonl columns). */
  extra: Record<string, unknown>;
}

export interface ImageSource {
  /** Number of rows the source will yield (for progress and preallocation). */
  total: number;
  /** One line saying what is being read, for logs. */
  description: string;
  /** The rows in source order; iterating again starts from the beginning. */
  images(): AsyncIterable<SourceImage>;
}

/** JSON-friendly form of a cell: Int64 cells arrive as bigint from apache-arrow. */
export function plainValue(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  return value;
}
