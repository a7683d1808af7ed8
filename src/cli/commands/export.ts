/**
 * `idclusters export --config <file> [--out <dir>]`: writes the release folder (`data/` Parquet
 * shards as push_to_hub writes them, `README.md`, `assets/`, `card-inputs.json`) from the embed and
 * cluster outputs in the work directory.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { startProgress, type Progress } from "../../common/progress.ts";
import { loadConfig } from "../../config/index.ts";
import { exportReleaseFolder } from "../../pipeline/export-release-folder.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { ExportArgs } from "../options/export.ts";

/** The version in package.json: the card records which tool built a release. */
export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/export.ts
  handler: async (args) => {
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    const outDir = resolve(args.out ?? join(config.workDir, "release"));
    let progress: Progress | undefined;
    let phase: string | undefined;
    let last = 0;
    const started = performance.now();
    const result = await exportReleaseFolder({
      config,
      outDir,
      outFlag: args.out ? "--out" : "release folder",
      hub: { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir },
      card: args.card,
      toolVersion: toolVersion(),
      onProgress: (next, done, total) => {
        if (phase !== next) {
          progress?.stop();
          phase = next;
          progress = startProgress({ label: next === "read" ? "export: read" : "export: write", total, unit: "rows" });
          last = 0;
        }
        progress?.tick(done - last);
        last = done;
      },
    });
    progress?.stop();
    const seconds = (performance.now() - started) / 1000;
    const { data } = result;
    log.info(
      `export: ${data.numExamples} rows in ${data.shards.length} shard(s), ${(data.downloadSize / 1e6).toFixed(1)} MB; ` +
        `${result.problems.length} row(s) without a face or unreadable, ${result.droppedNoise} noise row(s) dropped` +
        `${result.excluded > 0 ? `, ${result.excluded} excluded by the review (clustering.overrides)` : ""}; ${seconds.toFixed(1)} s`,
    );
    const readme = args.card ? join(outDir, "README.md") : undefined;
    if (args.json) {
      process.stdout.write(
        JSON.stringify({ outDir, readme: readme ?? null, ...data, problems: result.problems, droppedNoise: result.droppedNoise, seconds }, null, 2) + "\n",
      );
    } else {
      process.stdout.write(outDir + "\n");
    }
  },
};
