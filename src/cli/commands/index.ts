/** Every CLI command, in the order `--help` lists them. */
import type { CommandModule } from "yargs";
import { cardCommand } from "./card.ts";
import { clusterCommand } from "./cluster.ts";
import { configCommand } from "./config.ts";
import { embedCommand } from "./embed.ts";
import { exportCommand } from "./export.ts";
import { inspectCommand } from "./inspect.ts";
import { mergeCommand } from "./merge.ts";
import { pullCommand } from "./pull.ts";
import { pushCommand } from "./push.ts";
import { runCommand } from "./run.ts";
import { verifyCommand } from "./verify.ts";

export const commands: CommandModule<any, any>[] = [runCommand, configCommand, pullCommand, pushCommand, embedCommand, mergeCommand, clusterCommand, exportCommand, cardCommand, verifyCommand, inspectCommand];
