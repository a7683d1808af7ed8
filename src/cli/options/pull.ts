/** Options of `idclusters pull` (handler: ../commands/pull.ts). */
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { HubRepoType } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkHubRepo, checkInteger, hubSettingsOf } from "../option-checks.ts";

export interface PullArgs extends GlobalArgs {
  config?: string;
  repo?: string;
  /** Undefined: dataset (no yargs default, so that --config can refuse it). */
  repoType?: HubRepoType;
  /** Undefined: main. */
  revision?: string;
  include?: string[];
  exclude?: string[];
  concurrency: number;
}

export function pullOptions(argv: Argv<GlobalArgs>): Argv<PullArgs> {
  return argv
    .option("config", { type: "string", describe: "release config: pull its source and models" })
    .option("repo", { type: "string", describe: "repo id, namespace/name" })
    .option("repo-type", { choices: ["dataset", "model"] as const, describe: "kind of repo (default: dataset)" })
    .option("revision", { type: "string", describe: "branch, tag or commit SHA (default: main)" })
    .option("include", { type: "string", array: true, describe: "only files matching this glob (repeatable)" })
    .option("exclude", { type: "string", array: true, describe: "skip files matching this glob (repeatable)" })
    .option("concurrency", { type: "number", default: 8, describe: "files downloaded at once" })
    // A config names its own repos and revisions: these would be ignored, so they are refused.
    .conflicts("config", ["repo", "repo-type", "revision", "include", "exclude"])
    .check(async (a) => {
      if (a.config === undefined && a.repo === undefined) throw new UsageError("give --repo <ns/name> or --config <file>");
      checkExists(a, "config", "file");
      checkInteger(a, "concurrency", 1);
      await checkHubRepo(a, "repo", (a["repo-type"] as HubRepoType | undefined) ?? "dataset");
      await hubSettingsOf(a);
      return true;
    })
    .example("$0 pull --repo jxie/celeba-hq --include 'data/**'", "fetch the source shards")
    .example("$0 pull --config configs/celebahq_512.yaml", "fetch a release's source and models") as unknown as Argv<PullArgs>;
}
