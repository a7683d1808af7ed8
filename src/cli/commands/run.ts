/**
 * `idclusters run --config <file>`: the whole publish pipeline (pull, embed, cluster, the review's
 * overrides, identity ids, export + card), each stage cached in the work directory, then the plan against the target
 * repo's head; `--push` publishes it as one commit (parent guard, optional tag).
 */
import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { loadConfig } from "../../config/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { RunArgs } from "../options/run.ts";
import { toolVersion } from "./export.ts";

export const runCommand: CommandModule<GlobalArgs, RunArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/run.ts
  handler: async (args) => {
    // The config first: a bad one fails before the pipeline's heavy imports.
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    const { runPipeline } = await import("../../pipeline/run-pipeline.ts");
    const result = await runPipeline({
      config,
      hub: { hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir },
      ...(args.out && { outDir: resolve(args.out) }),
      push: args.push,
      dryRun: args.dryRun,
      createPr: args.createPr,
      ...(args.tag && { tag: args.tag }),
      ...(args.idPolicy && { idPolicy: args.idPolicy }),
      ...(args.decodeWorkers !== undefined && { decodeWorkers: args.decodeWorkers }),
      ...(args.calibrate !== undefined && { calibrate: args.calibrate }),
      strictOverrides: args.strictOverrides,
      toolVersion: toolVersion(),
    });
    const { plan } = result;
    const stages = Object.entries(result.stages).map(([k, v]) => `${k} ${v}`).join(", ");
    log.info(`run: stages: ${stages}`);
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      return;
    }
    const lines = [
      `release folder: ${result.outDir}`,
      `target: ${plan.target}${plan.unreachable ? " (not reachable: every file listed as added)" : plan.repoMissing ? " (missing: a push creates it)" : ` @ ${plan.head}`}`,
      ...plan.added.map((p) => `  add     ${p}`),
      ...plan.updated.map((p) => `  change  ${p}`),
      ...plan.deleted.map((p) => `  delete  ${p}`),
      `  ${plan.unchanged} file(s) unchanged`,
      `rows: ${plan.rows.previous ?? "-"} -> ${plan.rows.current}`,
      `identities: ${plan.identities.previous ?? "-"} -> ${plan.identities.current}`,
      `card: ${
        !plan.cardChanged
          ? "unchanged"
          : plan.card
            ? `changed (${[plan.card.header && "header", plan.card.blocks.length > 0 && `blocks ${plan.card.blocks.join(", ")}`, plan.card.handWritten && "hand-written text"].filter(Boolean).join("; ")})`
            : "changed"
      }`,
    ];
    if (result.overrides) {
      const { applied, problems } = result.overrides;
      lines.push(
        `overrides: ${result.overrides.appliedIds.length} of ${result.overrides.decisions} decision(s) applied (${applied.merge} merge(s), ${applied.split} split(s), ` +
          `${applied.move} move(s), ${applied.exclude} exclusion(s), ${applied.check} check(s)), ${result.overrides.checkedIdentities} identities checked` +
          (problems.length > 0 ? `; ${problems.length} problem(s):` : ""),
        ...problems.map((p) => `  ${p.kind}: ${p.message}`),
      );
    }
    if (plan.changelog) {
      lines.push(`ids: ${plan.changelog.kept} kept, ${plan.changelog.fresh} new, ${plan.changelog.merges.length} merge(s), ${plan.changelog.splits.length} split(s)`);
    }
    if (result.published) {
      const { published } = result;
      lines.push(
        !published.committed
          ? `nothing to publish: ${published.commitOid}`
          : published.pullRequestUrl
            ? `opened pull request: ${published.pullRequestUrl} (commit ${published.commitOid})`
            : `published: ${published.commitOid}`,
      );
    } else {
      lines.push(`not pushed: ${result.notPushed}`);
    }
    process.stdout.write(lines.join("\n") + "\n");
  },
};
