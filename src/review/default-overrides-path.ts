/**
 * Where review keeps decisions when the config names no `clustering.overrides`: beside the config,
 * named after it (`configs/celebahq_512.yaml` -> `configs/celebahq_512.overrides.yaml`), and the
 * value the config needs for `run` to apply them (relative to the config's folder, as config paths are).
 */
import { basename, dirname, join, relative, sep } from "node:path";

export interface OverridesLocation {
  /** Absolute path of the decisions file. */
  path: string;
  /** `clustering.overrides:` value naming it from the config. */
  configValue: string;
}

export function defaultOverridesPath(configFile: string, configured?: string): OverridesLocation {
  const path = configured ?? join(dirname(configFile), `${basename(configFile).replace(/\.ya?ml$/i, "")}.overrides.yaml`);
  return { path, configValue: relative(dirname(configFile), path).split(sep).join("/") };
}
