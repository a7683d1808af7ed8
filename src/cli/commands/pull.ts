/**
 * `idclusters pull --repo ns/name`: downloads a Hub repo at a revision into the Hub cache (Python
 * layout) and prints the snapshot folder.
 */
import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { resolveHubSettings } from "../../hub/hub-settings.ts";
import type { HubRepoType } from "../../hub/repo-designation.ts";
import type { GlobalArgs } from "../global-options.ts";

interface PullArgs extends GlobalArgs {
  repo: string;
  repoType: HubRepoType;
  revision: string;
  include?: string[];
  exclude?: string[];
  concurrency: number;
}

export const pullCommand: CommandModule<GlobalArgs, PullArgs> = {
  command: "pull",
  describe: "download a Hub repo at a revision into the Hub cache and print its snapshot path",
  // yargs infers only the kebab-case keys; the camelCase aliases exist at run time.
  builder: (argv) =>
    argv
      .option("repo", { type: "string", demandOption: true, describe: "repo id, namespace/name" })
      .option("repo-type", { choices: ["dataset", "model"] as const, default: "dataset" as HubRepoType, describe: "kind of repo" })
      .option("revision", { type: "string", default: "main", describe: "branch, tag or commit SHA" })
      .option("include", { type: "string", array: true, describe: "only files matching this glob (repeatable)" })
      .option("exclude", { type: "string", array: true, describe: "skip files matching this glob (repeatable)" })
      .option("concurrency", { type: "number", default: 8, describe: "files downloaded at once" })
      .example("$0 pull --repo jxie/celeba-hq --include 'data/**'", "fetch the source shards") as unknown as Argv<PullArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.concurrency) || args.concurrency < 1) {
      throw new UsageError(`--concurrency: must be a positive integer, got ${args.concurrency}`);
    }
    // Loaded on use: the Hub client is a large import every other command would pay for.
    const { pullSnapshot } = await import("../../hub/pull-snapshot.ts");
    const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
    const result = await pullSnapshot({
      repo: args.repo,
      repoType: args.repoType,
      revision: args.revision,
      ...(args.include && { include: args.include }),
      ...(args.exclude && { exclude: args.exclude }),
      concurrency: args.concurrency,
      ...settings,
    });
    process.stdout.write(args.json ? JSON.stringify(result) + "\n" : result.snapshotPath + "\n");
  },
};
