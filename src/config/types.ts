/**
 * The validated, defaults-filled and path-resolved form of a config file. Mirrors
 * `configs/idclusters.schema.json` (the schema is the source of truth for editors and validation;
 * keep the two in step — `load-config.spec.ts` checks every schema key has a field here).
 */

/** A model file on the Hub at a pinned revision, or a local file. Exactly one of the two. */
export type ModelLocation =
  | { kind: "hub"; repo: string; file: string; revision: string }
  | { kind: "local"; path: string };

export interface ModelCommon {
  location: ModelLocation;
  /** Expected SHA-256 of the ONNX file, checked before use. */
  sha256?: string;
  /** Licence of the weights, for the card. */
  license?: string;
}

export interface DetectorConfig extends ModelCommon {
  kind: "scrfd" | "yunet";
  /** Square detector input size (det_size). */
  inputSize: number;
  /** Minimum face score (det_thresh). */
  scoreThreshold: number;
  /** NMS IoU threshold. */
  nmsThreshold: number;
}

export interface RecognizerConfig extends ModelCommon {
  mean: number | [number, number, number];
  std: number | [number, number, number];
  dtype: "fp32" | "fp16";
}

export type SourceLocation =
  | { kind: "hub"; repo: string; revision: string }
  | { kind: "local"; path: string };

export interface SourceConfig {
  location: SourceLocation;
  format: "auto" | "parquet" | "imagefolder";
  split: string;
  imageColumn: string;
  /** Repo globs to pull; undefined means "the split's shards". */
  include?: string[];
  exclude: string[];
  passThrough: string[];
}

export interface FacesConfig {
  device: "auto" | "cuda" | "webgpu" | "cpu";
  batchSize: number;
  /** Session options by measurement (faces.calibrate); see src/faces/calibrate-session.ts. */
  calibrate: "auto" | "skip" | "redo";
  noFace: "drop" | "keep";
  maxPixels: number;
}

export interface ImagesConfig {
  transform: "keep" | "resize";
  size?: number;
  fit: "fill" | "cover" | "contain" | "inside";
  kernel: "lanczos3" | "lanczos2" | "mitchell" | "cubic" | "linear" | "nearest";
  format: "jpeg" | "png" | "webp";
  quality: number;
}

export interface ClusteringConfig {
  eps: number;
  minSamples: number;
  noise: "singleton" | "keep" | "drop";
  idPolicy: "sklearn-order" | "stable";
  /**
   * The identity review's decisions file (absolute; `idclusters review` writes it), applied after
   * DBSCAN and before stable ids (identities/apply-overrides.ts). Unset: no decisions.
   */
  overrides?: string;
}

export interface CardConfig {
  prettyName?: string;
  license?: string;
  licenseName?: string;
  licenseLink?: string;
  taskCategories?: string[];
  tags?: string[];
  language?: string[];
  description?: string;
}

/** A field of the Hub's access request form (`extra_gated_fields`). */
export type GatedFieldType = "text" | "checkbox" | "date_picker" | "country";

/** Access requests for a gated repo: `release.gated`, `gated_prompt`, `gated_fields`. */
export interface GatedConfig {
  /** auto: every request is granted; manual: the owner approves each. */
  mode: "auto" | "manual";
  /** Text above the request form (`extra_gated_prompt`). */
  prompt?: string;
  /** Extra form fields, label -> kind, in the config's order (`extra_gated_fields`). */
  fields?: Record<string, GatedFieldType>;
}

export interface ReleaseTargetConfig {
  target: string;
  split: string;
  /** Unset: the Hub decides (owner's default). true: created private, an existing public repo made private. false: created public (an existing private repo is never made public). */
  private?: boolean;
  /** Undefined: the config does not gate the repo. */
  gated?: GatedConfig;
  /** Bytes of data per shard. */
  maxShardSize: number;
  rowGroupSize: number;
  tag?: string;
  card: CardConfig;
}

export interface ReleaseConfig {
  /** Absolute path of the file this came from (for messages). */
  file: string;
  name: string;
  /** Absolute work directory. */
  workDir: string;
  source: SourceConfig;
  detector: DetectorConfig;
  recognizer: RecognizerConfig;
  faces: FacesConfig;
  images: ImagesConfig;
  clustering: ClusteringConfig;
  release: ReleaseTargetConfig;
}
