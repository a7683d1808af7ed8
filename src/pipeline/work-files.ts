/** The files of a work dir, one place for their names (the stages' outputs and the caches). */
import { join } from "node:path";

export function workFiles(workDir: string) {
  return {
    embeddings: join(workDir, "embeddings.npy"),
    index: join(workDir, "embeddings-index.parquet"),
    /** DBSCAN's labels in its own numbering (cluster step). */
    sklearnLabels: join(workDir, "labels-sklearn.npy"),
    /** The labels the release publishes (identities step: stable ids or DBSCAN's). */
    labels: join(workDir, "labels.npy"),
    // Written by `idclusters cluster --rows-out` (needed only when noise rows are dropped).
    labelRows: join(workDir, "label-rows.npy"),
    stats: join(workDir, "cluster-stats.json"),
    spool: join(workDir, "release-spool", "images.bin"),
    /** Shards-only export used to key rows by image SHA-256 for stable ids. */
    provisionalRelease: join(workDir, "provisional-release"),
  };
}
