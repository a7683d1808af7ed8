/**
 * `idclusters verify <release folder | hub repo@rev>`: re-reads every shard with DuckDB (a reader
 * independent of the writer's parquet-wasm) and checks schema, features metadata, row counts
 * against the card, `cluster_size` against the count of its `cluster_id`, and the card's numbers
 * against the data. Exit 0 when everything holds, 1 with one line per problem otherwise.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { RuntimeError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { loadConfig } from "../../config/index.ts";
import type { ReleaseConfig } from "../../config/index.ts";
import { parseHubRepo, pullSnapshot, resolveHubSettings } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { VerifyArgs } from "../options/verify.ts";

async function releaseFolder(args: VerifyArgs, release = args.release): Promise<string> {
  if (existsSync(release)) return resolve(release);
  const [repo, revision] = release.split("@") as [string, string | undefined];
  parseHubRepo(repo, "dataset", "verify");
  const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
  const pulled = await pullSnapshot({
    repo,
    revision: revision ?? "main",
    include: ["data/**", "README.md", "card-inputs.json", "assets/**"],
    hubUrl: settings.hubUrl,
    accessToken: settings.accessToken,
    cacheDir: settings.cacheDir,
  });
  log.info(`verify: ${repo}@${pulled.commit.slice(0, 12)} in ${pulled.snapshotPath}`);
  return pulled.snapshotPath;
}

export const verifyCommand: CommandModule<GlobalArgs, VerifyArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/verify.ts
  handler: async (args) => {
    // The config first: a bad one fails before anything is downloaded.
    let config: ReleaseConfig | undefined;
    if (args.config) config = await loadConfig({ file: args.config, workDir: args.workDir });
    const folder = await releaseFolder(args);
    const { verifyReleaseFolder } = await import("../../pipeline/verify-release-folder.ts");
    const result = await verifyReleaseFolder({ folder, ...(config && { config }), maxRowGroupRows: args.maxRowGroupRows });
    if (args.against) {
      const { readReleaseRows } = await import("../../release/index.ts");
      const { compareReleaseLabels } = await import("../../identities/index.ts");
      const split = config?.release.split ?? result.splits[0]?.split ?? "train";
      const theirs = await readReleaseRows({ folder: await releaseFolder(args, args.against), split });
      const comparison = compareReleaseLabels({ ours: await readReleaseRows({ folder, split }), theirs });
      log.info(`verify: against ${args.against}: adjusted Rand index ${comparison.ari}, ${comparison.differences.length} differing row(s) of ${comparison.rows}`);
      for (const d of comparison.differences.slice(0, 50)) {
        result.problems.push(
          d.kind === "image"
            ? `row ${d.row}: not the same image as in ${args.against} (${d.fileName ?? "no file name"})`
            : `row ${d.row} (${d.fileName ?? "no file name"}): cluster_id ${d.ours ?? "null"}, ${args.against} has ${d.theirs ?? "null"}`,
        );
      }
      if (comparison.differences.length > 50) result.problems.push(`${comparison.differences.length - 50} more differing rows`);
      if (comparison.ari !== 1 && comparison.differences.length === 0) result.problems.push(`adjusted Rand index ${comparison.ari} against ${args.against}`);
      result.checks.push(`labels against ${args.against}: adjusted Rand index ${comparison.ari}`);
    }
    if (args.config && !result.cardChecked) log.warn(`${resolve(folder, "card-inputs.json")} is missing: the card's generated numbers were not checked`);
    if (result.overrides?.skipped) log.warn(`verify: the check of cluster_id against clustering.overrides was skipped: ${result.overrides.skipped}`);
    for (const split of result.splits) {
      log.info(`verify: split ${split.split}: ${split.numExamples} rows in ${split.shards.length} shard(s), ${split.downloadSize} bytes`);
    }
    if (args.json) process.stdout.write(JSON.stringify({ folder, ok: result.problems.length === 0, ...result }, null, 2) + "\n");
    else for (const problem of result.problems) process.stdout.write(problem + "\n");
    if (result.problems.length > 0) throw new RuntimeError(`verify: ${result.problems.length} problem(s) in ${folder}`);
    log.info(`verify: ok (${result.checks.join("; ")})`);
    if (!args.json) process.stdout.write("ok\n");
  },
};

