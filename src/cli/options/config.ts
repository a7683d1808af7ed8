/** Options of `idclusters config` (handler: ../commands/config.ts). */
import type { Argv } from "yargs";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists } from "../option-checks.ts";

export interface ConfigArgs extends GlobalArgs {
  config: string;
}

export function configOptions(argv: Argv<GlobalArgs>): Argv<ConfigArgs> {
  return argv
    .option("config", { type: "string", demandOption: true, describe: "release config (configs/*.yaml)" })
    .check((a) => {
      checkExists(a, "config", "file");
      return true;
    })
    .example("$0 config --config configs/celebahq_512.yaml", "check the first release's config");
}
