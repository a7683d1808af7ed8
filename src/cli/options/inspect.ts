/** Options of `idclusters inspect` (handler: ../commands/inspect.ts). */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkInteger, pathProblem } from "../option-checks.ts";

export interface InspectArgs extends GlobalArgs {
  release: string;
  clusters: number;
  config?: string;
  out?: string;
  perCluster: number;
  seed: number;
}

/** Whether a release folder holds `data/*.parquet` shards (the handler reads nothing else). */
function hasShards(release: string): boolean {
  try {
    return readdirSync(join(release, "data"), { withFileTypes: true }).some((e) => e.isFile() && e.name.endsWith(".parquet"));
  } catch {
    return false;
  }
}

export function inspectOptions(argv: Argv<GlobalArgs>): Argv<InspectArgs> {
  return argv
    .positional("release", { type: "string", demandOption: true, describe: "release folder (data/*.parquet)" })
    .option("clusters", { type: "number", default: 16, describe: "how many clusters to show" })
    .option("config", { type: "string", describe: "release config: its work dir's embeddings rank borderline merges" })
    .option("out", { type: "string", describe: "folder for the PNG sheets (default: <release>/inspect)" })
    .option("per-cluster", { type: "number", default: 10, describe: "faces shown per cluster" })
    .option("seed", { type: "number", default: 1, describe: "seed of the random sample" })
    .check((a) => {
      const release = String(a.release);
      const problem = pathProblem(release, "folder");
      if (problem) throw new UsageError(`<release>: ${release} ${problem}`);
      if (!hasShards(release)) throw new UsageError(`<release>: ${release} has no data/*.parquet shards`);
      checkInteger(a, "clusters", 1);
      checkInteger(a, "per-cluster", 1);
      checkInteger(a, "seed", 0);
      checkExists(a, "config", "file");
      return true;
    })
    .example("$0 inspect release/ --clusters 24 --config configs/celebahq_512.yaml", "review 24 clusters") as unknown as Argv<InspectArgs>;
}
