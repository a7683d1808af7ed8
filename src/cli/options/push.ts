/** Options of `idclusters push` (handler: ../commands/push.ts). */
import type { Argv } from "yargs";
import type { HubRepoType } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkHubRepo, requireHubToken } from "../option-checks.ts";

export interface PushArgs extends GlobalArgs {
  repo: string;
  repoType: HubRepoType;
  folder: string;
  message?: string;
  /** Undefined: a created repo gets the Hub's default visibility for its owner. */
  private?: boolean;
  createPr: boolean;
  tag?: string;
  delete?: string[];
  branch: string;
}

export function pushOptions(argv: Argv<GlobalArgs>): Argv<PushArgs> {
  return argv
    .option("repo", { type: "string", demandOption: true, describe: "repo id, namespace/name (created if missing)" })
    .option("repo-type", { choices: ["dataset", "model"] as const, default: "dataset" as HubRepoType, describe: "kind of repo" })
    .option("folder", { type: "string", demandOption: true, describe: "local folder to publish" })
    .option("message", { type: "string", describe: "commit title" })
    .option("private", { type: "boolean", describe: "create the repo private (--no-private: public) if it does not exist (default: the Hub's default for the owner)" })
    .option("create-pr", { type: "boolean", default: false, describe: "open a pull request instead of committing" })
    .option("tag", { type: "string", describe: "tag the new commit" })
    .option("delete", {
      type: "string",
      array: true,
      describe: "delete remote files matching this glob that the folder lacks (repeatable), e.g. 'data/**'",
    })
    .option("branch", { type: "string", default: "main", describe: "branch to commit to" })
    .check(async (a) => {
      checkExists(a, "folder", "folder");
      await checkHubRepo(a, "repo", a["repo-type"] as HubRepoType);
      await requireHubToken(a, "push");
      return true;
    })
    .example("$0 push --repo me/faces --folder out/release --delete 'data/**' --tag v1", "publish a release") as unknown as Argv<PushArgs>;
}
