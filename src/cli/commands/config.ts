/**
 * `idclusters config --config <file>`: validates a config and prints it resolved (defaults
 * filled, paths absolute), so a user can see exactly what a run would use.
 */
import type { CommandModule } from "yargs";
import { stringify } from "yaml";
import { loadConfig } from "../../config/index.ts";
import type { GlobalArgs } from "../global-options.ts";

interface ConfigArgs extends GlobalArgs {
  config: string;
}

export const configCommand: CommandModule<GlobalArgs, ConfigArgs> = {
  // command and describe: see commandCatalog in index.ts
  builder: (argv) =>
    argv
      .option("config", { type: "string", demandOption: true, describe: "release config (configs/*.yaml)" })
      .example("$0 config --config configs/celebahq_512.yaml", "check the first release's config"),
  handler: async (args) => {
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    process.stdout.write(args.json ? JSON.stringify(config, null, 2) + "\n" : stringify(config));
  },
};
