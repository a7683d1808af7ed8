/**
 * The shapes the review stage passes around: the build it reads from a work dir, the risk of each
 * identity, and the data the page receives (compact, column by column: 28k rows as one object
 * each would triple the JSON).
 */
import type { OverrideDecision } from "../identities/index.ts";

/** A near-threshold pair of rows (cluster-stats.json `ambiguous_pairs`), as review rows. */
export interface ReviewPair {
  /** Review rows (indices into `ReviewBuild.rows`). */
  a: number;
  b: number;
  similarity: number;
}

/** What the work dir's last build holds, for the rows that have a face and a label. */
export interface ReviewBuild {
  /** One entry per review row (a labelled row with a face), in source order. */
  rows: {
    /** Row in the source (the release's row order). */
    sourceRow: Int32Array;
    /** Row of `embeddings.npy`. */
    embeddingRow: Int32Array;
    fileName: string[];
    /** SHA-256 of the source image's bytes: what a decision names. */
    sha256: string[];
    /** Detected face box (x1, y1, x2, y2) in the embedded image's pixels, 4 per row; NaN when unknown. */
    box: Float64Array;
  };
  /** DBSCAN's label per review row after the noise policy (-1: kept noise). */
  labels: Int32Array;
  /** L2-normalised embeddings, `dims` per embedding row. */
  embeddings: Float32Array;
  dims: number;
  /** Near-threshold pairs between review rows. */
  ambiguousPairs: ReviewPair[];
  /** Images of the source without a review row, and why (no face, unreadable, dropped noise). */
  absent: Map<string, string>;
  /** File names of those images. */
  absentNames: Map<string, string>;
  /** Clustering parameters the labels were made with (cluster-stats.json). */
  eps: number;
  minSamples: number;
  noise: string;
  /** Source rows without a face or unreadable, and noise rows dropped (`noise: drop`): not reviewable. */
  skipped: { noFace: number; error: number; droppedNoise: number };
}

/** Why an identity is worth a look; bits of `ClusterRisk.kinds`. */
export const RISK_KINDS = {
  /** A pair decided by rounding at the threshold touches it (cluster-stats.json `ambiguous_pairs`). */
  ambiguous: 1,
  /** Its loosest member's nearest cluster mate is near eps. */
  weakLink: 2,
  /** Another identity's centroid is close. */
  nearCluster: 4,
  /** Among the largest identities. */
  large: 8,
  /** A single image close to an identity. */
  singletonNear: 16,
} as const;
export type RiskKind = keyof typeof RISK_KINDS;

/** The risk of one identity (a group of review rows after the decisions). */
export interface ClusterRisk {
  /** The review rows of the identity. */
  rows: number[];
  /** RISK_KINDS bits that are flagged. */
  kinds: number;
  /** Order key in [0, 1], higher first (see rank-clusters.ts). */
  score: number;
  /** Cosine distance from the loosest member to its nearest cluster mate (null: one image or too large to compute). */
  weakestLink: number | null;
  /** That loosest member (review row), or -1. */
  weakestRow: number;
  /** Cosine distance between the normalised centroids of this identity and the nearest other (null when none is within reach). */
  nearestDistance: number | null;
  /** Index (in the ranked list's input order) of that nearest identity, or -1. */
  nearestGroup: number;
  /** Ambiguous pairs touching the identity, and the other identity of the first one that leaves it (-1: none). */
  ambiguousPairs: number;
  ambiguousGroup: number;
}

/** The JSON the page loads (server: GET /api/data; static copy: embedded in index.html). */
export interface ReviewData {
  format: 1;
  mode: "server" | "static";
  /** The config's `name`. */
  name: string;
  eps: number;
  minSamples: number;
  noise: string;
  /** Who new decisions are recorded as. */
  reviewer: string;
  overrides: {
    /** The decisions file, as the user should see it (relative to the working directory when inside it). */
    file: string;
    /** Whether the config names it (`clustering.overrides`); if not, `run` does not apply it yet. */
    configured: boolean;
    /** What `clustering.overrides:` the config needs (relative to the config's folder). */
    configValue: string;
    /** SHA-256 of the file the page works from (null: no file yet); a save names it (lost-update guard). */
    sha256: string | null;
    decisions: OverrideDecision[];
    /** What applyOverrides could not apply, one sentence each. */
    problems: string[];
  };
  /** Review rows, column by column. */
  rows: {
    file: string[];
    /** Source row. */
    row: number[];
    sha: string[];
    /** DBSCAN's label (noise policy applied); the page applies the decisions to these. */
    base: number[];
  };
  /** The server's applyOverrides result for the saved decisions (null without decisions): the page checks its own against it. */
  applied: { labels: number[]; excluded: number[]; checked: number[] } | null;
  /**
   * Identities after the saved decisions, most at risk first, column by column. `key` is the
   * label, or -(row + 2) for a kept noise row (label -1: each its own identity).
   */
  clusters: {
    key: number[];
    kinds: number[];
    score: number[];
    weak: (number | null)[];
    weakRow: number[];
    near: (number | null)[];
    nearKey: (number | null)[];
    amb: number[];
    ambKey: (number | null)[];
  };
  /** Sizes at or above which an identity counts as large. */
  largeFrom: number;
  /** Centroid distance below which an identity is flagged as near another. */
  nearWithin: number;
  skipped: ReviewBuild["skipped"];
  /** Thumbnails: `<base><sha256>.<ext>`, square, `size` pixels. */
  thumbs: { base: string; ext: string; size: number };
  /** Identifies this build and decisions file (the page keeps unsaved work under it). */
  buildId: string;
}
