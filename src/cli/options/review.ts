/** Options of `idclusters review` (handler: ../commands/review.ts). */
import { statSync } from "node:fs";
import type { Argv } from "yargs";
import { UsageError } from "../../common/errors.ts";
import type { GlobalArgs } from "../global-options.ts";
import { checkExists, checkInteger } from "../option-checks.ts";

/** Default port: fixed, so an SSH tunnel (`ssh -L 8737:127.0.0.1:8737 build-machine`) can be set up once. */
export const DEFAULT_REVIEW_PORT = 8737;

export interface ReviewArgs extends GlobalArgs {
  config: string;
  port: number;
  static?: string;
  reviewer?: string;
}

export function reviewOptions(argv: Argv<GlobalArgs>): Argv<ReviewArgs> {
  return argv
    .option("config", { type: "string", demandOption: true, describe: "release config: its work dir's last build is reviewed" })
    .option("port", { type: "number", default: DEFAULT_REVIEW_PORT, describe: "port on 127.0.0.1 (0: any free port); the page is served on loopback only" })
    .option("static", { type: "string", describe: "write a self-contained copy of the page to this new or empty folder instead of serving it (Save downloads the decisions file)" })
    .option("reviewer", { type: "string", describe: "name recorded as `who` of new decisions (default: $IDCLUSTERS_REVIEWER, else the OS user name)" })
    .check((a) => {
      checkExists(a, "config", "file");
      checkInteger(a, "port", 0, 65535);
      if (a.static !== undefined) {
        const info = statSync(String(a.static), { throwIfNoEntry: false });
        if (info && !info.isDirectory()) throw new UsageError(`--static: ${a.static} is a file, not a folder`);
      }
      if (a.reviewer !== undefined && String(a.reviewer).trim() === "") throw new UsageError("--reviewer needs a value");
      return true;
    })
    .example("$0 review --config configs/celebahq_512.yaml", "serve the review page on 127.0.0.1:8737 and print its URL")
    .example("$0 review --config configs/celebahq_512.yaml --static review-copy/", "write a copy to open from file:// elsewhere") as unknown as Argv<ReviewArgs>;
}
