/**
 * `idclusters card --config <file>`: re-renders a release's dataset card (README.md and assets/)
 * from its `card-inputs.json` (written by `export`), merging into an existing card: hand-written
 * sections and unknown YAML keys stay, `dataset_info`, `configs` and the generated blocks are
 * replaced.
 *
 *   idclusters card --config configs/celebahq_512.yaml                         (merge into <work dir>/release/README.md)
 *   idclusters card --config ... --existing edgarcancinoe/celebahq_512_id_clusters@main   (merge into the published card)
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { loadConfig } from "../../config/index.ts";
import { parseHubRepo } from "../../hub/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { CardArgs } from "../options/card.ts";

/** The existing card's text and a name for messages, from a local file or a Hub dataset `repo[@rev]`. */
async function readExistingCard(args: CardArgs, spec: string): Promise<{ text: string; name: string } | undefined> {
  if (existsSync(spec)) return { text: await readFile(spec, "utf8"), name: resolve(spec) };
  const at = spec.lastIndexOf("@");
  const repo = at > 0 ? spec.slice(0, at) : spec;
  const revision = at > 0 ? spec.slice(at + 1) : "main";
  if (!/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new UsageError(`--existing: "${spec}" is neither a file nor a Hub dataset repo[@revision]`);
  parseHubRepo(repo, "dataset", "--existing");
  const { resolveHubSettings } = await import("../../hub/index.ts");
  const { pullSnapshot } = await import("../../hub/index.ts");
  const settings = resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir });
  const pulled = await pullSnapshot({
    repo,
    revision,
    include: ["README.md"],
    hubUrl: settings.hubUrl,
    ...(settings.accessToken && { accessToken: settings.accessToken }),
    cacheDir: settings.cacheDir,
  });
  const path = join(pulled.snapshotPath, "README.md");
  const name = `${repo}@${pulled.commit.slice(0, 12)}:README.md`;
  if (!existsSync(path)) {
    log.warn(`${repo}@${revision} has no README.md; rendering a fresh card`);
    return undefined;
  }
  return { text: await readFile(path, "utf8"), name };
}

export const cardCommand: CommandModule<GlobalArgs, CardArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/card.ts
  handler: async (args) => {
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    const outDir = resolve(args.out ?? join(config.workDir, "release"));
    const inputsPath = resolve(args.inputs ?? join(outDir, "card-inputs.json"));
    if (!existsSync(inputsPath)) {
      throw new UsageError(`${inputsPath} is missing: run idclusters export --config ${args.config} first, or pass --inputs`);
    }
    const card = await import("../../card/index.ts");
    const inputs = await card.loadCardInputs({ path: inputsPath, config, ...(args.stats && { statsPath: resolve(args.stats) }) });

    const localCard = join(outDir, "README.md");
    const existing = args.fresh
      ? undefined
      : args.existing !== undefined
        ? await readExistingCard(args, args.existing)
        : existsSync(localCard)
          ? { text: await readFile(localCard, "utf8"), name: localCard }
          : undefined;
    const written = await card.writeCard({
      inputs,
      outDir,
      ...(existing && { existingCard: existing.text, existingName: existing.name }),
    });
    if (args.stats) {
      // Keep the release's card inputs in step with the card, so `verify --config` checks the new numbers.
      await card.saveCardInputs({ inputs, path: join(outDir, "card-inputs.json") });
    }
    // A block the author duplicated is refreshed in every copy but still worth a word.
    const mismatches = card.checkCard({ cardText: await readFile(written.readmePath, "utf8"), inputs });
    for (const mismatch of mismatches) log.warn(`${written.readmePath}: ${mismatch}`);
    log.info(`card: ${written.readmePath}${existing ? ` (merged into ${existing.name})` : ""}, ${written.assets.length} plot(s)`);
    if (args.json) process.stdout.write(JSON.stringify({ readme: written.readmePath, assets: written.assets, mergedFrom: existing?.name ?? null }, null, 2) + "\n");
    else process.stdout.write(written.readmePath + "\n");
  },
};
