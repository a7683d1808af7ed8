/**
 * Every CLI command, in the order `--help` lists them. Names and one-line descriptions live here;
 * a command's module (options and handler) is imported only when that command runs, because the
 * modules pull in heavy libraries (transformers.js, onnxruntime, sharp, DuckDB, the Hub client)
 * that would otherwise cost every invocation, `--help` included, seconds of start-up.
 */
import type { CommandModule } from "yargs";

export interface CommandEntry {
  /** yargs command string (name plus positionals). */
  command: string;
  describe: string;
  /** The command's options and handler. */
  load: () => Promise<CommandModule<any, any>>;
}

export const commandCatalog: CommandEntry[] = [
  {
    command: "run",
    describe: "pull, embed, cluster, export and card a release (each stage cached), print the plan, publish with --push",
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    command: "config",
    describe: "validate a config file and print it resolved",
    load: async () => (await import("./config.ts")).configCommand,
  },
  {
    command: "pull",
    describe: "download a Hub repo (or a config's source and models) into the Hub cache and print the local paths",
    load: async () => (await import("./pull.ts")).pullCommand,
  },
  {
    command: "push",
    describe: "publish a local folder to a Hub repo as one commit and print the commit id",
    load: async () => (await import("./push.ts")).pushCommand,
  },
  {
    command: "embed",
    describe: "detect, align and embed one face per image (embeddings.npy + index), resumable",
    load: async () => (await import("./embed.ts")).embedCommand,
  },
  {
    command: "merge",
    describe: "combine the partials of embed --shard i/n into the single-run embeddings.npy + index",
    load: async () => (await import("./merge.ts")).mergeCommand,
  },
  {
    command: "cluster",
    describe: "cluster embeddings with cosine DBSCAN (labels identical to scikit-learn's) and report identity statistics",
    load: async () => (await import("./cluster.ts")).clusterCommand,
  },
  {
    command: "export",
    describe: "write the release folder (Parquet shards, dataset card, plots) from the work dir's embed and cluster outputs",
    load: async () => (await import("./export.ts")).exportCommand,
  },
  {
    command: "card",
    describe: "re-render a release's dataset card and plots from its data, keeping hand-written sections",
    load: async () => (await import("./card.ts")).cardCommand,
  },
  {
    command: "verify <release>",
    describe: "check a release folder or Hub dataset (repo@rev) with an independent reader (DuckDB)",
    load: async () => (await import("./verify.ts")).verifyCommand,
  },
  {
    command: "inspect <release>",
    describe: "write PNG contact sheets of sampled clusters (largest and borderline first) for manual review",
    load: async () => (await import("./inspect.ts")).inspectCommand,
  },
];

/** Global options that take a value: their value is not the command name. */
const VALUE_OPTIONS = new Set(["--hub-url", "--token", "--cache-dir", "--work-dir"]);

/** The command named on the command line, if any (the first word that is not an option). */
export function requestedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/**
 * The commands to register for this invocation: the requested one loaded in full, the others as
 * name-and-description stubs (enough for `--help`, suggestions and strict parsing).
 */
export async function commandsFor(argv: readonly string[]): Promise<CommandModule<any, any>[]> {
  const requested = requestedCommand(argv);
  return Promise.all(
    commandCatalog.map(async (entry) => {
      const name = entry.command.split(" ")[0];
      if (name !== requested) return { command: entry.command, describe: entry.describe, handler: () => {} };
      return { ...(await entry.load()), command: entry.command, describe: entry.describe };
    }),
  );
}
