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
}
