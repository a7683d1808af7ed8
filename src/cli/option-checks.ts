/**
 * Checks on flag values that yargs does not make: numbers that are numbers and integers in range,
 * values that were not forgotten, input files that exist, Hub repo ids, a token where one is needed.
 * They run in each command's `.check()`, so a bad flag stops the command before its handler runs.
 * Every message names the flag.
 *
 * The options of every command load this file to parse a command line, so it imports no stage
 * statically: the Hub stage's index pulls in the Hub client, so the checks that need it import it
 * when they run, which is only once yargs found no unknown or missing flag.
 */
import { statSync } from "node:fs";
import { UsageError } from "../common/errors.ts";
import type { HubRepoType, HubSettings } from "../hub/index.ts";
import { GLOBAL_VALUE_OPTIONS } from "./global-options.ts";

/** The Hub stage, loaded on first use (see above). */
const hubStage = () => import("../hub/index.ts");

/** Parsed arguments as a `.check()` sees them (kebab-case and camelCase keys). */
export type Args = Record<string, unknown>;

/** What `.check()` gets as its second argument: the command's declared options by kind. */
export interface DeclaredOptions {
  key: Record<string, unknown>;
  boolean: string[];
  number: string[];
  string: string[];
  array: string[];
  count?: string[];
}

/**
 * Checks every declared option at once, whatever the command: a value option written without its
 * value (yargs drops `--eps` at the end of the line silently), a number that is not one (yargs
 * makes `--eps abc` NaN), a boolean given `=something`, a single-valued option given twice (yargs
 * turns it into an array), an empty value for a command's own string option.
 */
export function checkDeclaredOptions(args: Args, declared: DeclaredOptions, argv: readonly string[]): void {
  const booleans = new Set([...declared.boolean, ...(declared.count ?? [])]);
  const arrays = new Set(declared.array);
  const numbers = new Set(declared.number);
  const tokens = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  for (const [i, token] of tokens.entries()) {
    const match = /^--([^=]+)(=(.*))?$/s.exec(token);
    if (!match || !(match[1]! in declared.key)) continue;
    const name = match[1]!;
    if (booleans.has(name)) {
      if (match[2] !== undefined && !["true", "false"].includes(match[3]!)) {
        throw new UsageError(`--${name} takes no value (got "${match[3]}"; use --${name} or --no-${name})`);
      }
    } else if (match[2] === undefined && !isValue(tokens[i + 1], numbers.has(name))) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  for (const name of Object.keys(declared.key)) {
    const value = args[name];
    if (value === undefined) continue;
    if (Array.isArray(value) && !arrays.has(name)) throw new UsageError(`--${name} given more than once`);
    const values = Array.isArray(value) ? value : [value];
    if (numbers.has(name) && values.some((v) => typeof v !== "number" || Number.isNaN(v))) {
      throw new UsageError(`--${name}: ${JSON.stringify(givenValue(tokens, name) ?? String(value))} is not a number`);
    }
    if (declared.string.includes(name) && !GLOBAL_VALUE_OPTIONS.has(name) && values.some((v) => v === "")) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
}

/** Whether the token after a value option is its value (a negative number is a value, `--x` is not). */
function isValue(token: string | undefined, numeric: boolean): boolean {
  if (token === undefined) return false;
  return !token.startsWith("-") || (numeric && /^-(\d|\.\d)/.test(token));
}

/** The text the user gave for `--name` (first occurrence), for messages. */
function givenValue(tokens: readonly string[], name: string): string | undefined {
  for (const [i, token] of tokens.entries()) {
    if (token.startsWith(`--${name}=`)) return token.slice(name.length + 3);
    if (token === `--${name}`) return tokens[i + 1];
  }
  return undefined;
}

/** `--name`, when given, is an integer in [min, max]. */
export function checkInteger(args: Args, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const value = args[name];
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got ${String(value)}`);
  }
}

/** `--name`, when given, lies in the open or half-open interval described. */
export function checkNumber(args: Args, name: string, range: { above: number; atMost?: number; below?: number }): void {
  const value = args[name];
  if (value === undefined) return;
  const ok = typeof value === "number" && value > range.above && (range.atMost === undefined || value <= range.atMost) && (range.below === undefined || value < range.below);
  if (!ok) {
    const upper = range.atMost !== undefined ? `${range.atMost}]` : range.below !== undefined ? `${range.below})` : "inf)";
    throw new UsageError(`--${name} must be in (${range.above}, ${upper}, got ${String(value)}`);
  }
}

/** Each path given to `--name` (one or repeated) exists, as a file or a folder when `kind` says so. */
export function checkExists(args: Args, name: string, kind: "file" | "folder" | "any"): void {
  const value = args[name];
  if (value === undefined) return;
  for (const path of (Array.isArray(value) ? value : [value]) as string[]) {
    const problem = pathProblem(path, kind);
    if (problem) throw new UsageError(`--${name}: ${path} ${problem}`);
  }
}

/** Why `path` is not usable as a `kind`, or undefined when it is. */
export function pathProblem(path: string, kind: "file" | "folder" | "any"): string | undefined {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return "does not exist";
  if (kind === "file" && !info.isFile()) return "is not a file";
  if (kind === "folder" && !info.isDirectory()) return "is not a folder";
  return undefined;
}

/** `--name`, when given, is a Hub repo id `namespace/name`. */
export async function checkHubRepo(args: Args, name: string, type: HubRepoType = "dataset"): Promise<void> {
  const value = args[name];
  if (value !== undefined) (await hubStage()).parseHubRepo(String(value), type, `--${name}`);
}

/**
 * `value` names an existing local path or a Hub dataset `namespace/name[@revision]`: the forms
 * `verify`, `card --existing` and `verify --against` take.
 */
export async function checkFolderOrRepo(value: string, flag: string): Promise<void> {
  if (statSync(value, { throwIfNoEntry: false })) return;
  const at = value.lastIndexOf("@");
  const repo = at > 0 ? value.slice(0, at) : value;
  if (at > 0 && at === value.length - 1) throw new UsageError(`${flag}: "${value}" has an empty revision after "@"`);
  const { parseHubRepo } = await hubStage();
  try {
    parseHubRepo(repo, "dataset", flag);
  } catch {
    throw new UsageError(`${flag}: "${value}" is neither an existing path nor a Hub dataset namespace/name[@revision]`);
  }
}

/** The Hub endpoint, token and cache the global flags and the environment give; a bad URL or token is a usage error. */
export async function hubSettingsOf(args: Args): Promise<HubSettings> {
  return (await hubStage()).resolveHubSettings({ hubUrl: args["hub-url"] as string | undefined, token: args.token as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
}

/**
 * A command that will write to the Hub has a token: without one it would do all its work and
 * only then stop, or (run) report "not pushed" and exit 0, so a missing CI secret went unnoticed.
 */
export async function requireHubToken(args: Args, what: string): Promise<void> {
  if (!(await hubSettingsOf(args)).accessToken) throw new UsageError(`${what} needs a Hub token: set HF_TOKEN or pass --token`);
}
