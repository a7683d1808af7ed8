/**
 * What the release writer hands to the card stage (and `verify` checks against a card): the
 * numbers of the card's `dataset_info` YAML block (../shared/docs/hf-parquet-and-card.md,
 * "README.md (dataset card) YAML header").
 */

/** A `datasets` feature as written in the `huggingface` Arrow metadata. */
export type HfFeature =
  | { _type: "Image" }
  | { _type: "Value"; dtype: "string" | "int64" | "int32" | "float32" | "float64" | "bool" }
  | { _type: "ClassLabel"; names: string[] };

export interface ReleaseShard {
  /** Repo path, e.g. `data/train-00000-of-00002.parquet`. */
  path: string;
  /** Rows in the shard. */
  rows: number;
  /** File size in bytes. */
  bytes: number;
}

export interface ReleaseDataInfo {
  /** Split name (`train`). */
  split: string;
  /** Column name -> feature, in column order. */
  features: [name: string, feature: HfFeature][];
  shards: ReleaseShard[];
  /** Rows in the split (`num_examples`). */
  numExamples: number;
  /** Arrow in-memory bytes of the split (`num_bytes`). */
  numBytes: number;
  /** Sum of the Parquet file sizes (`download_size`). */
  downloadSize: number;
  /** Sum of `num_bytes` over splits (`dataset_size`). */
  datasetSize: number;
  /**
   * How the rows divide by `cluster_id` (label-counts.ts): counted from the rows the writer wrote,
   * recounted from the shards by `verify`. Absent for data without the identity columns.
   */
  labels?: ReleaseLabelCounts;
}

/**
 * The rows of a split by what their `cluster_id` says (README "Configs": `clustering.noise`,
 * `faces.no_face`). Every row is exactly one of the three kinds, so
 * `identityRows + noiseRows + noFaceRows` is the row count.
 */
export interface ReleaseLabelCounts {
  /** Distinct `cluster_id` >= 0. */
  identities: number;
  /** Rows with a `cluster_id` >= 0 (`cluster_size` = rows sharing the id). */
  identityRows: number;
  /** DBSCAN noise kept by `clustering.noise: keep`: `cluster_id` -1, `cluster_size` 1. */
  noiseRows: number;
  /**
   * Images without a detected face kept by `faces.no_face: keep`: never clustered (no embedding),
   * so no identity: `cluster_id` and `cluster_size` null.
   */
  noFaceRows: number;
  /** Identity size (decimal string) -> number of identities of that size, ascending by size. */
  sizeDistribution: Record<string, number>;
}
