/**
 * `idclusters merge`: combines the partials of `embed --shard i/n` into the files one
 * `embed --config` run writes, byte for byte, in the same place (so later stages and `run` find the
 * embed stage done).
 *
 *   idclusters merge --config configs/celebahq_512.yaml                     (<work dir>/partials/embed-*-of-<n>)
 *   idclusters merge --config configs/celebahq_512.yaml --partials /shared/partials
 *   idclusters merge --partials p/embed-0-of-2 p/embed-1-of-2 --out emb.npy --index-out index.parquet
 */
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { loadConfig } from "../../config/index.ts";
import { expandPartialArgs, findPartialDirs, fingerprintOf, mergeEmbedPartials, partialIdentityOf, sourceKeyOf, type MergeEmbedPartialsParams } from "../../embed/index.ts";
import { planFromConfig } from "../../pipeline/embed-plan-from-config.ts";
import { pullReleaseInputs } from "../../pipeline/pull-inputs.ts";
import type { GlobalArgs } from "../global-options.ts";

interface MergeArgs extends GlobalArgs {
  config?: string;
  partials?: string[];
  out?: string;
  indexOut?: string;
}

export const mergeCommand: CommandModule<GlobalArgs, MergeArgs> = {
  // command and describe: see commandCatalog in index.ts
  builder: (argv: Argv<GlobalArgs>) =>
    argv
      .option("config", { type: "string", describe: "release config: partials checked against it, outputs (and embed cache) in its work dir" })
      .option("partials", { type: "string", array: true, describe: "partial folders, or folders holding embed-<i>-of-<n> partials (default with --config: <work dir>/partials)" })
      .option("out", { type: "string", describe: "embeddings .npy path (default with --config: <work dir>/embeddings.npy)" })
      .option("index-out", { type: "string", describe: "index path, .parquet or .jsonl (default with --config: <work dir>/embeddings-index.parquet)" })
      .check((a) => {
        if (!a.config && !(a.partials && a.partials.length > 0)) throw new UsageError("give --config <file>, or --partials <dir>... with --out");
        if (!a.config && !a.out) throw new UsageError("without --config, merge needs --out");
        return true;
      })
      .example("$0 merge --config configs/celebahq_512.yaml", "merge the shards in the work dir") as unknown as Argv<MergeArgs>,
  handler: async (args) => {
    let params: MergeEmbedPartialsParams;
    if (args.config) {
      const config = await loadConfig({ file: args.config, workDir: args.workDir });
      // The config's source and models are pulled (cached) to check the partials really slice them.
      const plan = await planFromConfig(config, await pullReleaseInputs(config, { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir }));
      const identity = partialIdentityOf({
        source: sourceKeyOf(config),
        totalRows: plan.source.total,
        fingerprint: await fingerprintOf(plan),
        noFace: plan.noFace,
        maxPixels: plan.maxPixels,
      });
      params = {
        partialDirs: args.partials?.length ? await expandPartialArgs(args.partials.map((p) => resolve(p))) : await findPartialDirs(join(config.workDir, "partials")),
        expected: identity,
        embeddingsPath: args.out ? resolve(args.out) : plan.embeddingsPath,
        indexPath: args.indexOut ? resolve(args.indexOut) : plan.indexPath,
        cacheRoot: plan.cacheRoot,
      };
    } else {
      params = {
        partialDirs: await expandPartialArgs(args.partials!.map((p) => resolve(p))),
        embeddingsPath: resolve(args.out!),
        indexPath: args.indexOut ? resolve(args.indexOut) : undefined,
      };
    }
    const summary = await mergeEmbedPartials(params);
    if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else process.stdout.write(summary.embeddingsPath + "\n");
  },
};
