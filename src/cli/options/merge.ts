/** Options of `idclusters merge` (handler: ../commands/merge.ts). */
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, hubSettingsOf } from "../option-checks.ts";

export interface MergeArgs extends GlobalArgs {
  config?: string;
  partials?: string[];
  out?: string;
  indexOut?: string;
}

export function mergeOptions(argv: Argv<GlobalArgs>): Argv<MergeArgs> {
  return argv
    .option("config", { type: "string", describe: "release config: partials checked against it, outputs (and embed cache) in its work dir" })
    .option("partials", { type: "string", array: true, describe: "partial folders, or folders holding embed-<i>-of-<n> partials (default with --config: <work dir>/partials)" })
    .option("out", { type: "string", describe: "embeddings .npy path (default with --config: <work dir>/embeddings.npy)" })
    .option("index-out", { type: "string", describe: "index path, .parquet or .jsonl (default with --config: <work dir>/embeddings-index.parquet)" })
    .check(async (a) => {
      if (!a.config && !(a.partials && a.partials.length > 0)) throw new UsageError("give --config <file>, or --partials <dir>... with --out");
      if (!a.config && !a.out) throw new UsageError("without --config, merge needs --out");
      checkExists(a, "config", "file");
      checkExists(a, "partials", "folder");
      if (a.config) await hubSettingsOf(a); // the config's source and models are pulled to check the partials
      return true;
    })
    .example("$0 merge --config configs/celebahq_512.yaml", "merge the shards in the work dir") as unknown as Argv<MergeArgs>;
}
