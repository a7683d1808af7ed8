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
import type { CommandModule } from "yargs";
import { loadConfig } from "../../config/index.ts";
import { lockWorkDir } from "../../pipeline/work-dir-lock.ts";
import { expandPartialArgs, findPartialDirs, fingerprintOf, mergeEmbedPartials, partialIdentityOf, sourceKeyOf, type MergeEmbedPartialsParams } from "../../embed/index.ts";
import { planFromConfig } from "../../pipeline/embed-plan-from-config.ts";
import { pullReleaseInputs } from "../../pipeline/pull-inputs.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { MergeArgs } from "../options/merge.ts";

export const mergeCommand: CommandModule<GlobalArgs, MergeArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/merge.ts
  handler: async (args) => {
    let params: MergeEmbedPartialsParams;
    if (args.config) {
      const config = await loadConfig({ file: args.config, workDir: args.workDir });
      // One process per work dir (issue #10); the lock goes when the process exits.
      await lockWorkDir({ workDir: config.workDir, command: "merge" });
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
