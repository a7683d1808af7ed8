/** The files of a work dir, one place for their names (the stages' outputs and the caches). */
import { join } from "node:path";

export function workFiles(workDir: string) {
  return {
    embeddings: join(workDir, "embeddings.npy"),
    index: join(workDir, "embeddings-index.parquet"),
    /** DBSCAN's labels in its own numbering (cluster step). */
    sklearnLabels: join(workDir, "labels-sklearn.npy"),
    /**
     * DBSCAN's labels with the review's decisions applied (overrides step, only with
     * `clustering.overrides`): same rows as labels-sklearn.npy, which stays as DBSCAN wrote it so
     * `verify --against` and ARI keep comparing the clustering itself.
     */
    reviewedLabels: join(workDir, "labels-reviewed.npy"),
    /** Embeddings rows the review excluded (overrides step; int64, ascending, possibly empty). */
    excludedRows: join(workDir, "excluded-rows.npy"),
    /** The labels the release publishes (identities step: stable ids or DBSCAN's, reviewed when there are overrides). */
    labels: join(workDir, "labels.npy"),
    /**
     * The exclusions that go with labels.npy (identities step, with overrides only; stages/ids.json
     * vouches for the pair, so `idclusters export --config` leaves out what `run` left out).
     */
    labelsExcluded: join(workDir, "labels-excluded.npy"),
    // Written by `idclusters cluster --rows-out` (needed only when noise rows are dropped).
    labelRows: join(workDir, "label-rows.npy"),
    stats: join(workDir, "cluster-stats.json"),
    spool: join(workDir, "release-spool", "images.bin"),
    /** Shards-only export used to key rows by image SHA-256 for stable ids. */
    provisionalRelease: join(workDir, "provisional-release"),
  };
}
