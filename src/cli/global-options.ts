/**
 * Options every command accepts. Commands read them through `GlobalArgs`; nothing else in
 * `src/` parses argv.
 */
import type { Argv } from "yargs";

export interface GlobalArgs {
  /** Hub endpoint; overrides HF_ENDPOINT. */
  hubUrl?: string;
  /** Hub access token; overrides HF_TOKEN. Never printed. */
  token?: string;
  /** Hub cache root; overrides HF_HUB_CACHE / HF_HOME. */
  cacheDir?: string;
  /** Work directory for stage outputs and caches; overrides the config's `work_dir`. */
  workDir?: string;
  /** Print a machine-readable summary on stdout. */
  json: boolean;
  /** Only warnings and errors on stderr. */
  quiet: boolean;
}

/** Global options that take a value (an empty value means "not set", as in the environment). */
export const GLOBAL_VALUE_OPTIONS: ReadonlySet<string> = new Set(["hub-url", "token", "cache-dir", "work-dir"]);

export function withGlobalOptions<T>(argv: Argv<T>): Argv<T & GlobalArgs> {
  return argv
    .option("hub-url", { type: "string", describe: "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)" })
    .option("token", { type: "string", describe: "Hub access token (default: $HF_TOKEN); never printed" })
    .option("cache-dir", { type: "string", describe: "Hub cache (default: $HF_HUB_CACHE or $HF_HOME/hub)" })
    .option("work-dir", { type: "string", describe: "work directory for stage outputs (default: config's work_dir)" })
    .option("json", { type: "boolean", default: false, describe: "print a machine-readable summary on stdout" })
    .option("quiet", { type: "boolean", default: false, describe: "print only warnings and errors" }) as Argv<
    T & GlobalArgs
  >;
}
