export { loadConfig, parseConfig, ConfigError, CONFIG_SCHEMA_PATH } from "./load-config.ts";
export type { LoadConfigParams, ConfigProblem } from "./load-config.ts";
export { parseByteSize } from "./parse-byte-size.ts";
export type * from "./types.ts";
