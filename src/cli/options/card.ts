/** Options of `idclusters card` (handler: ../commands/card.ts). */
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkFolderOrRepo, hubSettingsOf } from "../option-checks.ts";

export interface CardArgs extends GlobalArgs {
  config: string;
  inputs?: string;
  stats?: string;
  existing?: string;
  fresh: boolean;
  out?: string;
}

export function cardOptions(argv: Argv<GlobalArgs>): Argv<CardArgs> {
  return argv
    .option("config", { type: "string", demandOption: true, describe: "release config (card keys, clustering, images)" })
    .option("out", { type: "string", describe: "release folder to write README.md and assets/ into (default: <work dir>/release)" })
    .option("inputs", { type: "string", describe: "card inputs written by export (default: <out>/card-inputs.json)" })
    .option("stats", { type: "string", describe: "cluster statistics JSON replacing the one in the card inputs" })
    .option("existing", { type: "string", describe: "card to merge into: a README.md or a Hub dataset repo[@revision] (default: <out>/README.md when present)" })
    .option("fresh", { type: "boolean", default: false, describe: "ignore any existing card and render the template from scratch" })
    .check(async (a) => {
      // Not .conflicts(): yargs counts --fresh's default (false) as given.
      if (a.fresh && a.existing !== undefined) throw new UsageError("--fresh and --existing exclude each other");
      checkExists(a, "config", "file");
      checkExists(a, "inputs", "file");
      checkExists(a, "stats", "file");
      if (a.existing !== undefined) {
        await checkFolderOrRepo(String(a.existing), "--existing");
        await hubSettingsOf(a);
      }
      return true;
    })
    .example("$0 card --config configs/celebahq_512.yaml", "update <work dir>/release/README.md from the data")
    .example("$0 card --config configs/celebahq_512.yaml --existing user/dataset@main", "merge into the published card") as unknown as Argv<CardArgs>;
}
