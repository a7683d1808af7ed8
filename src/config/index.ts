/**
 * The config stage: takes a release config file (YAML) and gives a validated `ReleaseConfig` (defaults applied,
 * paths absolute), or errors naming file:line:col and the key; schema in configs/idclusters.schema.json.
 */
export { loadConfig, parseConfig, ConfigError, CONFIG_SCHEMA_PATH } from "./load-config.ts";
export type { LoadConfigParams, ConfigProblem } from "./load-config.ts";
export { parseByteSize } from "./parse-byte-size.ts";
export type * from "./types.ts";
