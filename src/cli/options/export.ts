/** Options of `idclusters export` (handler: ../commands/export.ts). */
import type { Argv } from "yargs";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists } from "../option-checks.ts";

export interface ExportArgs extends GlobalArgs {
  config: string;
  out?: string;
  card: boolean;
}

export function exportOptions(argv: Argv<GlobalArgs>): Argv<ExportArgs> {
  return argv
    .option("config", { type: "string", demandOption: true, describe: "release config" })
    .option("out", { type: "string", describe: "release folder (default: <work dir>/release)" })
    .option("card", { type: "boolean", default: true, describe: "write README.md and assets/ (--no-card: shards only)" })
    .check((a) => {
      checkExists(a, "config", "file");
      return true;
    })
    .example("$0 export --config configs/celebahq_512.yaml --out release/", "build the release folder") as unknown as Argv<ExportArgs>;
}
