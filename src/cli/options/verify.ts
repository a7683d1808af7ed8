/** Options of `idclusters verify` (handler: ../commands/verify.ts). */
import type { Argv } from "yargs";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkFolderOrRepo, checkInteger, hubSettingsOf } from "../option-checks.ts";

export interface VerifyArgs extends GlobalArgs {
  release: string;
  config?: string;
  maxRowGroupRows: number;
  against?: string;
}

export function verifyOptions(argv: Argv<GlobalArgs>): Argv<VerifyArgs> {
  return argv
    .positional("release", { type: "string", demandOption: true, describe: "release folder, or Hub dataset repo[@revision]" })
    .option("config", { type: "string", describe: "release config: also checks every generated number of the card (needs card-inputs.json) and, with clustering.overrides, that cluster_id is the review applied to the work dir's DBSCAN labels and that card-inputs.json states that review" })
    .option("max-row-group-rows", { type: "number", default: 100, describe: "most rows a row group may hold" })
    .option("against", {
      type: "string",
      describe: "published release (repo@rev or folder) whose cluster_id our labels must match row by row (adjusted Rand index 1.0)",
    })
    .check(async (a) => {
      checkExists(a, "config", "file");
      checkInteger(a, "max-row-group-rows", 1);
      await checkFolderOrRepo(String(a.release), "<release>");
      if (a.against !== undefined) await checkFolderOrRepo(String(a.against), "--against");
      await hubSettingsOf(a);
      return true;
    })
    .example("$0 verify release/ --against edgarcancinoe/celebahq_512_id_clusters@main", "compare our labels with the published ones")
    .example("$0 verify release/", "check a local release folder")
    .example("$0 verify user/dataset@v1 --config configs/celebahq_512.yaml", "check a published release") as unknown as Argv<VerifyArgs>;
}
