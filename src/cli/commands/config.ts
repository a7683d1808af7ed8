/**
 * `idclusters config --config <file>`: validates a config and prints it resolved (defaults
 * filled, paths absolute), so a user can see exactly what a run would use.
 */
import type { CommandModule } from "yargs";
import { stringify } from "yaml";
import { loadConfig } from "../../config/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { ConfigArgs } from "../options/config.ts";

export const configCommand: CommandModule<GlobalArgs, ConfigArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/config.ts
  handler: async (args) => {
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    process.stdout.write(args.json ? JSON.stringify(config, null, 2) + "\n" : stringify(config));
  },
};
