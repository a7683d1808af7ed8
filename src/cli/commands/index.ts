/**
 * Every CLI command, in the order `--help` lists them. Names and one-line descriptions live here.
 * A command comes in two parts, each imported only when that command runs:
 * - its options and checks (`../options/<name>.ts`): light imports only, loaded to parse the
 *   command line, so a typo fails in a fraction of a second;
 * - its handler (`./<name>.ts`): pulls in heavy libraries (transformers.js, onnxruntime, sharp,
 *   DuckDB, the Hub client), loaded only once every flag passed validation.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { GLOBAL_VALUE_OPTIONS } from "../global-options.ts";

export interface CommandEntry {
  /** yargs command string (name plus positionals). */
  command: string;
  describe: string;
  /** The command's options, positionals and checks (a yargs builder). */
  options: () => Promise<(argv: Argv<any>) => Argv<any>>;
  /** The command's handler (a module without options: they belong in `options`). */
  load: () => Promise<CommandModule<any, any>>;
}

/** What to do with a command line that passed validation; the default loads and runs the handler. */
export type CommandRunner = (entry: CommandEntry, args: Record<string, unknown>) => Promise<void>;

export const commandCatalog: CommandEntry[] = [
  {
    command: "run",
    describe: "pull, embed, cluster, export and card a release (each stage cached), print the plan, publish with --push",
    options: async () => (await import("../options/run.ts")).runOptions,
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    command: "config",
    describe: "validate a config file and print it resolved",
    options: async () => (await import("../options/config.ts")).configOptions,
    load: async () => (await import("./config.ts")).configCommand,
  },
  {
    command: "pull",
    describe: "download a Hub repo (or a config's source and models) into the Hub cache and print the local paths",
    options: async () => (await import("../options/pull.ts")).pullOptions,
    load: async () => (await import("./pull.ts")).pullCommand,
  },
  {
    command: "push",
    describe: "publish a local folder to a Hub repo as one commit and print the commit id",
    options: async () => (await import("../options/push.ts")).pushOptions,
    load: async () => (await import("./push.ts")).pushCommand,
  },
  {
    command: "embed",
    describe: "detect, align and embed one face per image (embeddings.npy + index), resumable",
    options: async () => (await import("../options/embed.ts")).embedOptions,
    load: async () => (await import("./embed.ts")).embedCommand,
  },
  {
    command: "merge",
    describe: "combine the partials of embed --shard i/n into the single-run embeddings.npy + index",
    options: async () => (await import("../options/merge.ts")).mergeOptions,
    load: async () => (await import("./merge.ts")).mergeCommand,
  },
  {
    command: "cluster",
    describe: "cluster embeddings with cosine DBSCAN (labels identical to scikit-learn's) and report identity statistics",
    options: async () => (await import("../options/cluster.ts")).clusterOptions,
    load: async () => (await import("./cluster.ts")).clusterCommand,
  },
  {
    command: "export",
    describe: "write the release folder (Parquet shards, dataset card, plots) from the work dir's embed and cluster outputs",
    options: async () => (await import("../options/export.ts")).exportOptions,
    load: async () => (await import("./export.ts")).exportCommand,
  },
  {
    command: "card",
    describe: "re-render a release's dataset card and plots from its data, keeping hand-written sections",
    options: async () => (await import("../options/card.ts")).cardOptions,
    load: async () => (await import("./card.ts")).cardCommand,
  },
  {
    command: "verify <release>",
    describe: "check a release folder or Hub dataset (repo@rev) with an independent reader (DuckDB)",
    options: async () => (await import("../options/verify.ts")).verifyOptions,
    load: async () => (await import("./verify.ts")).verifyCommand,
  },
  {
    command: "inspect <release>",
    describe: "write PNG contact sheets of sampled clusters (largest and borderline first) for manual review",
    options: async () => (await import("../options/inspect.ts")).inspectOptions,
    load: async () => (await import("./inspect.ts")).inspectCommand,
  },
  {
    command: "review",
    describe: "serve a page on 127.0.0.1 to check and correct the work dir's identities (merge, split, exclude, mark checked); decisions go to clustering.overrides",
    options: async () => (await import("../options/review.ts")).reviewOptions,
    load: async () => (await import("./review.ts")).reviewCommand,
  },
];

/** Global options that take a value: their value is not the command name. */
const VALUE_OPTIONS = new Set([...GLOBAL_VALUE_OPTIONS].map((name) => `--${name}`));

export function commandName(entry: CommandEntry): string {
  return entry.command.split(" ")[0]!;
}

/** The command named on the command line, if any (the first word that is not an option). */
export function requestedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

const runHandler: CommandRunner = async (entry, args) => {
  await (await entry.load()).handler(args as ArgumentsCamelCase);
};

/**
 * The commands to register for this invocation: the requested one with its options and a handler
 * that loads the real one after validation, the others as name-and-description stubs (enough for
 * `--help`, suggestions and strict parsing).
 */
export async function commandsFor(argv: readonly string[], run: CommandRunner = runHandler): Promise<CommandModule<any, any>[]> {
  const requested = requestedCommand(argv);
  return Promise.all(
    commandCatalog.map(async (entry) => {
      if (commandName(entry) !== requested) return { command: entry.command, describe: entry.describe, handler: () => {} };
      return {
        command: entry.command,
        describe: entry.describe,
        builder: await entry.options(),
        handler: (args: Record<string, unknown>) => run(entry, args),
      };
    }),
  );
}
