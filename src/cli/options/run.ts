/** Options of `idclusters run` (handler: ../commands/run.ts). */
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkInteger, hubSettingsOf } from "../option-checks.ts";
import type { CalibrationMode } from "../../faces/index.ts";
import { calibrateOption } from "./embed.ts";

export interface RunArgs extends GlobalArgs {
  config: string;
  out?: string;
  push: boolean;
  dryRun: boolean;
  createPr: boolean;
  tag?: string;
  idPolicy?: "sklearn-order" | "stable";
  decodeWorkers?: number;
  calibrate?: CalibrationMode;
  strictOverrides: boolean;
}

export function runOptions(argv: Argv<GlobalArgs>): Argv<RunArgs> {
  return argv
    .option("config", { type: "string", demandOption: true, describe: "release config" })
    .option("out", { type: "string", describe: "release folder (default: <work dir>/release)" })
    .option("push", { type: "boolean", default: false, describe: "publish to release.target as one commit (needs a token)" })
    .option("dry-run", { type: "boolean", default: false, describe: "stop before pushing even with --push" })
    .option("create-pr", { type: "boolean", default: false, describe: "with --push: open the release as a pull request for review instead of committing to main" })
    .option("tag", { type: "string", describe: "tag the published commit (default: release.tag)" })
    .option("id-policy", { choices: ["sklearn-order", "stable"] as const, describe: "override clustering.id_policy" })
    .option("decode-workers", { type: "number", describe: "embed decode worker threads" })
    .option("calibrate", { ...calibrateOption })
    .option("strict-overrides", {
      type: "boolean",
      default: false,
      describe:
        "fail (exit 1, nothing released or pushed) when a decision of clustering.overrides names an image no longer in the source or contradicts an earlier one; default: warn and apply the rest. Needs clustering.overrides in the config (exit 2 without)",
    })
    .check(async (a) => {
      checkExists(a, "config", "file");
      checkInteger(a, "decode-workers", 0);
      if (a["create-pr"] && !a.push) throw new UsageError("--create-pr opens the release as a pull request: it needs --push");
      const hub = await hubSettingsOf(a); // a bad --hub-url or token fails now, not after the build
      // Without a token the run would build everything, then exit 0 with "not pushed": a
      // missing CI secret would be a green job.
      if (a.push && !a["dry-run"] && !hub.accessToken) throw new UsageError("--push needs a Hub token: set HF_TOKEN or pass --token");
      return true;
    })
    .example("$0 run --config configs/celebahq_512.yaml", "build the release and print what a push would change")
    .example("$0 run --config configs/celebahq_512.yaml --push --tag v2", "build and publish") as unknown as Argv<RunArgs>;
}
