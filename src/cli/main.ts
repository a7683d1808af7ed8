/**
 * The `idclusters` command line. Each command has its options and checks in `options/<name>.ts`
 * (light imports only) and its handler in `commands/<name>.ts`; this file wires them together and
 * turns errors into exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
 *
 * Every flag is validated before the handler is even loaded: unknown or misspelled options, missing
 * required ones, bad values. A usage failure throws out of yargs (`.fail()`), so no handler code
 * runs after it and nothing is written, created or pushed.
 */
import yargs from "yargs";
import type { Argv, CommandModule } from "yargs";
import { exitCodeOf, RuntimeError, UsageError } from "../common/errors.ts";
import { log, redact, setLogLevel } from "../common/logger.ts";
import { withGlobalOptions } from "./global-options.ts";
import { commandCatalog, commandName, commandsFor, requestedCommand, type CommandRunner } from "./commands/index.ts";
import { checkDeclaredOptions, type DeclaredOptions } from "./option-checks.ts";
import { usageMessage } from "./usage-messages.ts";

export async function main(argv: string[]): Promise<number> {
  try {
    await parseCommandLine(argv);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(redact(`idclusters: ${message}\n`));
    if (!(error instanceof UsageError)) log.debug(redact(error instanceof Error ? (error.stack ?? "") : ""));
    return exitCodeOf(error);
  }
}

/**
 * Parses and validates `argv`, then hands the arguments to `run` (by default: loads the command's
 * handler and runs it). Tests pass a `run` that records the arguments, to check a command line
 * without running anything. Usage failures reject with a UsageError.
 */
export async function parseCommandLine(argv: string[], run?: CommandRunner): Promise<void> {
  const commands = await commandsFor(argv, run);
  const parser: Argv = withGlobalOptions(yargs(argv))
    .scriptName("idclusters")
    .usage("$0 <command> [options]\n\nBuild and publish identity-labelled face datasets on the Hugging Face Hub.")
    .middleware((args) => {
      if (args.quiet) setLogLevel("quiet");
    })
    // Global, so it runs for every command, before the command's own checks.
    .check((args, declared) => {
      checkDeclaredOptions(args, declared as unknown as DeclaredOptions, argv);
      return true;
    }, true)
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
      // A failure of the handler itself (yargs passes no message): parseAsync rejects with it too.
      if (error && (message === null || message === undefined)) throw error;
      if (error instanceof UsageError || error instanceof RuntimeError) throw error;
      // Throwing (rather than recording the message) is what stops yargs before the handler.
      throw new UsageError(usageMessage(String(message ?? error), usageContext(argv, parser)));
    });
  await parser.parseAsync();
}

/** What `usageMessage` needs to name flags as typed and suggest the right one. */
function usageContext(argv: string[], parser: Argv) {
  // At failure time the parser holds the failing command's options.
  const declared = (parser as unknown as { getOptions(): DeclaredOptions }).getOptions();
  const command = requestedCommand(argv);
  const entry = commandCatalog.find((e) => commandName(e) === command);
  return {
    argv,
    options: Object.keys(declared.key).filter((key) => key !== "$0"),
    booleans: declared.boolean,
    commands: commandCatalog.map(commandName),
    positionals: [...(entry?.command.matchAll(/<([^>]+)>/g) ?? [])].map((m) => m[1]!),
    ...(command !== undefined && { command }),
  };
}
