/**
 * `idclusters cluster`: scikit-learn-identical cosine DBSCAN over an embeddings `.npy`, writing
 * int64 labels, cluster sizes and the identity statistics.
 *
 *   idclusters cluster --embeddings X.npy --eps 0.35 --min-samples 2 --noise singleton \
 *     --labels-out labels.npy --stats-out stats.json
 *   idclusters cluster --config configs/celebahq_512.yaml      (reads <work dir>/embeddings.npy)
 *   idclusters cluster --embeddings X.npy --suggest-eps
 */
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { startProgress } from "../../common/progress.ts";
import type { Progress } from "../../common/progress.ts";
import { loadConfig } from "../../config/index.ts";
import { lockWorkDir } from "../../pipeline/work-dir-lock.ts";
import { runCluster } from "../../cluster/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { ClusterArgs } from "../options/cluster.ts";

export const clusterCommand: CommandModule<GlobalArgs, ClusterArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/cluster.ts
  handler: async (args) => {
    let embeddings = args.embeddings;
    let eps = args.eps;
    let minSamples = args.minSamples;
    let noise = args.noise;
    let labelsOut = args.labelsOut;
    let statsOut = args.statsOut;
    if (args.config) {
      const config = await loadConfig({ file: args.config, workDir: args.workDir });
      // One process per work dir (issue #10); the lock goes when the process exits.
      await lockWorkDir({ workDir: config.workDir, command: "cluster" });
      embeddings ??= join(config.workDir, "embeddings.npy");
      eps ??= config.clustering.eps;
      minSamples ??= config.clustering.minSamples;
      noise ??= config.clustering.noise;
      labelsOut ??= join(config.workDir, "labels.npy");
      statsOut ??= join(config.workDir, "cluster-stats.json");
    }
    // Flags were checked by ../options/cluster.ts; config values by the config schema.
    if (!embeddings) throw new UsageError("cluster needs --embeddings <file.npy> or --config <file.yaml>");
    eps ??= 0.35;
    minSamples ??= 2;
    noise ??= "singleton";

    let progress: Progress | undefined;
    const started = performance.now();
    const result = await runCluster({
      embeddingsPath: resolve(embeddings),
      eps,
      minSamples,
      noise,
      labelsOut: labelsOut && resolve(labelsOut),
      statsOut: statsOut && resolve(statsOut),
      sizesOut: args.sizesOut && resolve(args.sizesOut),
      rowsOut: args.rowsOut && resolve(args.rowsOut),
      nearestNeighbors: args.nnStats,
      tileRows: args.tileRows,
      threads: args.threads,
      onTile: (done, total) => {
        progress ??= startProgress({ label: "cluster", total, unit: "tiles" });
        progress.tick();
      },
    });
    progress?.stop();
    const elapsedSeconds = (performance.now() - started) / 1000;
    const { stats } = result;
    log.info(
      `cluster: ${stats.input_rows} rows -> ${stats.identities} identities (${stats.clusters} clusters, ${stats.noise_rows} noise rows, ` +
        `noise ${noise}); ${stats.multi_image_clusters} multi-image, largest ${stats.largest_cluster}; ` +
        `${elapsedSeconds.toFixed(2)} s`,
    );
    if (labelsOut) log.info(`labels: ${resolve(labelsOut)}`);
    if (statsOut) log.info(`stats: ${resolve(statsOut)}`);
    const nn = stats.nearest_neighbor;
    if (args.suggestEps) {
      const line =
        nn.suggested_eps == null
          ? `eps: configured ${eps}; no suggestion (the nearest-neighbour histogram has no two modes)`
          : `eps: configured ${eps}, suggested ${nn.suggested_eps} (histogram valley at similarity ${nn.valley}, modes ${nn.modes?.join(" and ")}, Otsu ${nn.otsu_threshold})`;
      if (!args.json) process.stdout.write(line + "\n");
    }
    if (args.json) {
      process.stdout.write(
        JSON.stringify({ ...stats, elapsed_seconds: elapsedSeconds, labels_out: labelsOut && resolve(labelsOut), stats_out: statsOut && resolve(statsOut) }) + "\n",
      );
    }
  },
};
