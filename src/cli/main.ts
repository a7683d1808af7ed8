/**
 * The `idclusters` command line. Each command lives in `commands/<name>.ts` and exports a yargs
 * command module; this file only wires them together and turns errors into exit codes:
 * 0 ok, 1 runtime failure, 2 usage or config error.
 */
import yargs from "yargs";
import type { CommandModule } from "yargs";
import { exitCodeOf, UsageError } from "../common/errors.ts";
import { log, redact, setLogLevel } from "../common/logger.ts";
import { withGlobalOptions } from "./global-options.ts";
import { commandsFor } from "./commands/index.ts";

export async function main(argv: string[]): Promise<number> {
  let usageFailure: string | undefined;
  const commands = await commandsFor(argv);
  const parser = withGlobalOptions(yargs(argv))
    .scriptName("idclusters")
    .usage("$0 <command> [options]\n\nBuild and publish identity-labelled face datasets on the Hugging Face Hub.")
    .middleware((args) => {
      if (args.quiet) setLogLevel("quiet");
    })
    .command(commands as CommandModule[])
    .demandCommand(1, "name a command")
    .strict()
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      usageFailure = message;
    });

  try {
    await parser.parseAsync();
    if (usageFailure !== undefined) throw new UsageError(usageFailure);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(redact(`idclusters: ${message}\n`));
    if (!(error instanceof UsageError)) log.debug(redact(error instanceof Error ? (error.stack ?? "") : ""));
    return exitCodeOf(error);
  }
}
