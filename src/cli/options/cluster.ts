/** Options of `idclusters cluster` (handler: ../commands/cluster.ts). */
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
// The cluster stage's index loads no library up front (onnxruntime only when clustering runs).
import { NOISE_POLICIES, type NoisePolicy } from "../../cluster/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkInteger, checkNumber } from "../option-checks.ts";

export interface ClusterArgs extends GlobalArgs {
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

export function clusterOptions(argv: Argv<GlobalArgs>): Argv<ClusterArgs> {
  return argv
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
    .check((a) => {
      if (a.embeddings === undefined && a.config === undefined) throw new UsageError("cluster needs --embeddings <file.npy> or --config <file.yaml>");
      checkExists(a, "config", "file");
      checkExists(a, "embeddings", "file");
      checkNumber(a, "eps", { above: 0, below: 2 });
      checkInteger(a, "min-samples", 1);
      checkInteger(a, "tile-rows", 1);
      checkInteger(a, "threads", 1);
      if (a["suggest-eps"] && !a["nn-stats"]) throw new UsageError("--suggest-eps needs the nearest-neighbour statistics (drop --no-nn-stats)");
      return true;
    })
    .example("$0 cluster --embeddings X.npy --eps 0.35 --min-samples 2 --labels-out labels.npy --stats-out stats.json", "")
    .example("$0 cluster --config configs/celebahq_512.yaml", "cluster the work dir's embeddings.npy") as unknown as Argv<ClusterArgs>;
}
