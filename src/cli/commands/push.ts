/**
 * `idclusters push --repo ns/name --folder dir`: publishes a folder as one commit (creating the
 * repo when missing) and prints the commit id.
 */
import type { CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { resolveHubSettings } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { PushArgs } from "../options/push.ts";

export const pushCommand: CommandModule<GlobalArgs, PushArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/push.ts
  handler: async (args) => {
    // Loaded on use: the Hub client is a large import every other command would pay for.
    const { pushFolder } = await import("../../hub/index.ts");
    const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
    // A release folder written by idclusters: only the files it wrote are published, never
    // what else lies in the folder.
    const { ownedReleaseFiles } = await import("../../pipeline/release-folder.ts");
    const owned = await ownedReleaseFiles(args.folder);
    if (owned) log.info(`push: ${args.folder} is an idclusters release folder: pushing its ${owned.length} release file(s) only`);
    const result = await pushFolder({
      ...(owned && { files: owned }),
      repo: args.repo,
      repoType: args.repoType,
      folder: args.folder,
      ...(args.message && { message: args.message }),
      ...(args.private !== undefined && { private: args.private }),
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
