/**
 * `idclusters push --repo ns/name --folder dir`: publishes a folder as one commit (creating the
 * repo when missing) and prints the commit id.
 */
import type { Argv, CommandModule } from "yargs";
import { resolveHubSettings } from "../../hub/index.ts";
import type { HubRepoType } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";

interface PushArgs extends GlobalArgs {
  repo: string;
  repoType: HubRepoType;
  folder: string;
  message?: string;
  private: boolean;
  createPr: boolean;
  tag?: string;
  delete?: string[];
  branch: string;
}

export const pushCommand: CommandModule<GlobalArgs, PushArgs> = {
  // command and describe: see commandCatalog in index.ts
  // yargs infers only the kebab-case keys; the camelCase aliases exist at run time.
  builder: (argv) =>
    argv
      .option("repo", { type: "string", demandOption: true, describe: "repo id, namespace/name (created if missing)" })
      .option("repo-type", { choices: ["dataset", "model"] as const, default: "dataset" as HubRepoType, describe: "kind of repo" })
      .option("folder", { type: "string", demandOption: true, describe: "local folder to publish" })
      .option("message", { type: "string", describe: "commit title" })
      .option("private", { type: "boolean", default: false, describe: "create the repo private if it does not exist" })
      .option("create-pr", { type: "boolean", default: false, describe: "open a pull request instead of committing" })
      .option("tag", { type: "string", describe: "tag the new commit" })
      .option("delete", {
        type: "string",
        array: true,
        describe: "delete remote files matching this glob that the folder lacks (repeatable), e.g. 'data/**'",
      })
      .option("branch", { type: "string", default: "main", describe: "branch to commit to" })
      .example("$0 push --repo me/faces --folder out/release --delete 'data/**' --tag v1", "publish a release") as unknown as Argv<PushArgs>,
  handler: async (args) => {
    // Loaded on use: the Hub client is a large import every other command would pay for.
    const { pushFolder } = await import("../../hub/index.ts");
    const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
    const result = await pushFolder({
      repo: args.repo,
      repoType: args.repoType,
      folder: args.folder,
      ...(args.message && { message: args.message }),
      private: args.private,
      createPr: args.createPr,
      ...(args.tag && { tag: args.tag }),
      ...(args.delete && { deleteGlobs: args.delete }),
      branch: args.branch,
      hubUrl: settings.hubUrl,
      ...(settings.accessToken && { accessToken: settings.accessToken }),
    });
    if (args.json) process.stdout.write(JSON.stringify(result) + "\n");
    // Unchanged folder: the head is printed (scripts always get the published commit); the
    // "nothing to publish" notice went to stderr.
    else process.stdout.write(result.commitOid + "\n");
  },
};
