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
import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { startProgress } from "../../common/progress.ts";
import type { Progress } from "../../common/progress.ts";
import { loadConfig } from "../../config/index.ts";
import { NOISE_POLICIES } from "../../cluster/index.ts";
import type { NoisePolicy } from "../../cluster/index.ts";
import { runCluster } from "../../cluster/index.ts";
import type { GlobalArgs } from "../global-options.ts";

interface ClusterArgs extends GlobalArgs {
  config?: string;
  embeddings?: string;
  eps?: number;
  minSamples?: number;
  noise?: NoisePolicy;
  labelsOut?: string;
  statsOut?: string;
  sizesOut?: string;
  rowsOut?: string;
  suggestEps: boolean;
  nnStats: boolean;
  tileRows: number;
  threads: number;
}

export const clusterCommand: CommandModule<GlobalArgs, ClusterArgs> = {
  // command and describe: see commandCatalog in index.ts
  builder: (yargs) =>
    yargs
      .option("config", { type: "string", describe: "release config: eps, min_samples, noise and <work dir>/embeddings.npy" })
      .option("embeddings", { type: "string", describe: "embeddings .npy (float32 or float64, rows x dims, C order)" })
      .option("eps", { type: "number", describe: "cosine-distance radius in (0, 2) (default: config's, else 0.35)" })
      .option("min-samples", { type: "number", describe: "rows within eps, itself included, that make a core row (default: config's, else 2)" })
      .option("noise", { choices: NOISE_POLICIES, describe: "noise rows: own identity each (singleton), -1 (keep) or removed (drop) (default: config's, else singleton)" })
      .option("labels-out", { type: "string", describe: "labels .npy (int64) (default with --config: <work dir>/labels.npy)" })
      .option("stats-out", { type: "string", describe: "statistics JSON (default with --config: <work dir>/cluster-stats.json)" })
      .option("sizes-out", { type: "string", describe: "cluster_size per output row, .npy (int64)" })
      .option("rows-out", { type: "string", describe: "source row index per output row, .npy (int64); useful with --noise drop" })
      .option("suggest-eps", { type: "boolean", default: false, describe: "print the histogram-valley eps suggestion next to the configured eps" })
      .option("nn-stats", { type: "boolean", default: true, describe: "compute the nearest-neighbour histogram (--no-nn-stats: labels only, faster)" })
      .option("tile-rows", { type: "number", default: 512, describe: "rows per similarity tile" })
      .option("threads", { type: "number", default: 2, describe: "threads computing similarity tiles, this one included (one onnxruntime thread each; one per core)" })
      .example("$0 cluster --embeddings X.npy --eps 0.35 --min-samples 2 --labels-out labels.npy --stats-out stats.json", "")
      .example("$0 cluster --config configs/celebahq_512.yaml", "cluster the work dir's embeddings.npy") as unknown as Argv<ClusterArgs>,
  handler: async (args) => {
    let embeddings = args.embeddings;
    let eps = args.eps;
    let minSamples = args.minSamples;
    let noise = args.noise;
    let labelsOut = args.labelsOut;
    let statsOut = args.statsOut;
    if (args.config) {
      const config = await loadConfig({ file: args.config, workDir: args.workDir });
      embeddings ??= join(config.workDir, "embeddings.npy");
      eps ??= config.clustering.eps;
      minSamples ??= config.clustering.minSamples;
      noise ??= config.clustering.noise;
      labelsOut ??= join(config.workDir, "labels.npy");
      statsOut ??= join(config.workDir, "cluster-stats.json");
    }
    if (!embeddings) throw new UsageError("cluster needs --embeddings <file.npy> or --config <file.yaml>");
    eps ??= 0.35;
    minSamples ??= 2;
    noise ??= "singleton";
    if (!(eps > 0 && eps < 2)) throw new UsageError(`--eps must be in (0, 2), got ${eps}`);
    if (!Number.isInteger(minSamples) || minSamples < 1) throw new UsageError(`--min-samples must be an integer >= 1, got ${minSamples}`);
    if (!Number.isInteger(args.tileRows) || args.tileRows < 1) throw new UsageError(`--tile-rows must be a positive integer`);
    if (!Number.isInteger(args.threads) || args.threads < 1) throw new UsageError(`--threads must be a positive integer`);
    if (args.suggestEps && !args.nnStats) throw new UsageError("--suggest-eps needs the nearest-neighbour statistics (drop --no-nn-stats)");

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
