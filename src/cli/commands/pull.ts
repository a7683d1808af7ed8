/**
 * `idclusters pull --repo ns/name`: downloads a Hub repo at a revision into the Hub cache (Python
 * layout) and prints the snapshot folder. `idclusters pull --config F` fetches everything a
 * release config needs (source snapshot and both model files) and prints their local paths.
 */
import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { resolveHubSettings } from "../../hub/index.ts";
import type { HubRepoType } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";

interface PullArgs extends GlobalArgs {
  config?: string;
  repo?: string;
  repoType: HubRepoType;
  revision: string;
  include?: string[];
  exclude?: string[];
  concurrency: number;
}

export const pullCommand: CommandModule<GlobalArgs, PullArgs> = {
  // command and describe: see commandCatalog in index.ts
  // yargs infers only the kebab-case keys; the camelCase aliases exist at run time.
  builder: (argv) =>
    argv
      .option("config", { type: "string", describe: "release config: pull its source and models" })
      .option("repo", { type: "string", describe: "repo id, namespace/name" })
      .conflicts("config", ["repo", "include", "exclude"])
      .check((a) => {
        if (a.config === undefined && a.repo === undefined) throw new Error("give --repo <ns/name> or --config <file>");
        return true;
      })
      .option("repo-type", { choices: ["dataset", "model"] as const, default: "dataset" as HubRepoType, describe: "kind of repo" })
      .option("revision", { type: "string", default: "main", describe: "branch, tag or commit SHA" })
      .option("include", { type: "string", array: true, describe: "only files matching this glob (repeatable)" })
      .option("exclude", { type: "string", array: true, describe: "skip files matching this glob (repeatable)" })
      .option("concurrency", { type: "number", default: 8, describe: "files downloaded at once" })
      .example("$0 pull --repo jxie/celeba-hq --include 'data/**'", "fetch the source shards")
      .example("$0 pull --config configs/celebahq_512.yaml", "fetch a release's source and models") as unknown as Argv<PullArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.concurrency) || args.concurrency < 1) {
      throw new UsageError(`--concurrency: must be a positive integer, got ${args.concurrency}`);
    }
    if (args.config !== undefined) return pullConfigInputs(args, args.config);
    // Loaded on use: the Hub client is a large import every other command would pay for.
    const { pullSnapshot } = await import("../../hub/index.ts");
    const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
    const result = await pullSnapshot({
      repo: args.repo!,
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

async function pullConfigInputs(args: PullArgs, file: string): Promise<void> {
  const { loadConfig } = await import("../../config/index.ts");
  const { pullReleaseInputs } = await import("../../pipeline/pull-inputs.ts");
  const config = await loadConfig({ file, workDir: args.workDir });
  const inputs = await pullReleaseInputs(config, { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
  if (args.json) {
    process.stdout.write(JSON.stringify(inputs) + "\n");
    return;
  }
  process.stdout.write(
    [
      `source\t${inputs.sourcePath}`,
      `detector\t${inputs.detector.path}\tsha256:${inputs.detector.sha256}`,
      `recognizer\t${inputs.recognizer.path}\tsha256:${inputs.recognizer.sha256}`,
    ].join("\n") + "\n",
  );
}
