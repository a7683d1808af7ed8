/**
 * `idclusters pull --repo ns/name`: downloads a Hub repo at a revision into the Hub cache (Python
 * layout) and prints the snapshot folder. `idclusters pull --config F` fetches everything a
 * release config needs (source snapshot and both model files) and prints their local paths.
 */
import type { CommandModule } from "yargs";
import { resolveHubSettings } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { PullArgs } from "../options/pull.ts";

export const pullCommand: CommandModule<GlobalArgs, PullArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/pull.ts
  handler: async (args) => {
    if (args.config !== undefined) return pullConfigInputs(args, args.config);
    // Loaded on use: the Hub client is a large import every other command would pay for.
    const { pullSnapshot } = await import("../../hub/index.ts");
    const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
    const result = await pullSnapshot({
      repo: args.repo!,
      repoType: args.repoType ?? "dataset",
      revision: args.revision ?? "main",
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
