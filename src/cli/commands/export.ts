/**
 * `idclusters export --config <file> [--out <dir>]`: writes the release folder (`data/` Parquet
 * shards as push_to_hub writes them, `README.md`, `assets/`, `card-inputs.json`) from the embed and
 * cluster outputs in the work directory.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { startProgress, type Progress } from "../../common/progress.ts";
import { loadConfig } from "../../config/index.ts";
import { exportFromConfig } from "../../pipeline/export-from-config.ts";
import type { GlobalArgs } from "../global-options.ts";

interface ExportArgs extends GlobalArgs {
  config: string;
  out?: string;
  card: boolean;
}

/** The version in package.json: the card records which tool built a release. */
export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  // command and describe: see commandCatalog in index.ts
  builder: (argv: Argv<GlobalArgs>) =>
    argv
      .option("config", { type: "string", demandOption: true, describe: "release config" })
      .option("out", { type: "string", describe: "release folder (default: <work dir>/release)" })
      .option("card", { type: "boolean", default: true, describe: "write README.md and assets/ (--no-card: shards only)" })
      .example("$0 export --config configs/celebahq_512.yaml --out release/", "build the release folder") as unknown as Argv<ExportArgs>,
  handler: async (args) => {
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    const outDir = resolve(args.out ?? join(config.workDir, "release"));
    let progress: Progress | undefined;
    let phase: string | undefined;
    let last = 0;
    const started = performance.now();
    const result = await exportFromConfig({
      config,
      outDir,
      hub: { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir },
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
        `${result.problems.length} row(s) without a face or unreadable, ${result.droppedNoise} noise row(s) dropped; ${seconds.toFixed(1)} s`,
    );
    let readme: string | undefined;
    if (args.card) {
      const card = await import("../../card/index.ts");
      const inputs = {
        config,
        data,
        clusterStats: result.clusterStats as Parameters<typeof card.writeCard>[0]["inputs"]["clusterStats"],
        problems: result.problems,
        models: result.models,
        source: result.source,
        toolVersion: toolVersion(),
      };
      const existingCard = await readFile(join(outDir, "README.md"), "utf8").catch(() => undefined);
      const written = await card.writeCard({ inputs, outDir, ...(existingCard !== undefined && { existingCard, existingName: join(outDir, "README.md") }) });
      await card.saveCardInputs({ inputs, path: join(outDir, "card-inputs.json") });
      readme = written.readmePath;
      log.info(`export: card ${written.readmePath} with ${written.assets.length} plot(s)`);
    }
    if (args.json) {
      process.stdout.write(
        JSON.stringify({ outDir, readme: readme ?? null, ...data, problems: result.problems, droppedNoise: result.droppedNoise, seconds }, null, 2) + "\n",
      );
    } else {
      process.stdout.write(outDir + "\n");
    }
  },
};
