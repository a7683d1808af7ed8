/**
 * yargs words its usage failures for its own parser ("Unknown argument: dryrun", "Missing required
 * argument: config"); users typed flags, so the messages here name them as typed (`--dryrun`) and
 * suggest the option they probably meant.
 */

export interface UsageContext {
  /** The command line as given (without the node and script paths). */
  argv: readonly string[];
  /** Options the command knows, kebab-case as declared. */
  options: readonly string[];
  /** The boolean ones among them (they also take a `--no-` form). */
  booleans: readonly string[];
  /** Every command name. */
  commands: readonly string[];
  /** The requested command's positionals in order, e.g. ["release"]. */
  positionals: readonly string[];
  /** The command named on the command line, if any. */
  command?: string;
}

/** Our wording of a yargs failure message; messages it does not know pass unchanged. */
export function usageMessage(message: string, context: UsageContext): string {
  let match: RegExpExecArray | null;
  if ((match = /^Unknown arguments?: (.*)$/s.exec(message))) return unknownArguments(match[1]!.split(", "), context);
  if ((match = /^Missing required arguments?: (.*)$/s.exec(message))) {
    const names = match[1]!.split(", ").map((name) => `--${name}`);
    return `missing required option${names.length > 1 ? "s" : ""} ${names.join(", ")}`;
  }
  if (/^Not enough non-option arguments/.test(message)) {
    return context.positionals.length > 0
      ? `missing argument ${context.positionals.map((p) => `<${p}>`).join(" ")} (see idclusters ${context.command} --help)`
      : "name a command (see idclusters --help)";
  }
  if ((match = /^Did you mean (.*)\?$/.exec(message))) return `unknown command "${context.command}" (did you mean ${match[1]}?)`;
  if ((match = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(message))) {
    return `--${match[1]} and --${match[2]} exclude each other`;
  }
  if ((match = /^Not enough arguments following: (\S+)$/.exec(message))) return `--${match[1]} needs a value`;
  if (message.startsWith("Invalid values:")) return invalidValues(message);
  return message;
}

function unknownArguments(names: string[], context: UsageContext): string {
  // yargs lists a kebab-case option twice, also in camelCase (min-samples, minSamples).
  const listed = new Set(names);
  const kept = names.filter((name) => !(/[A-Z]/.test(name) && listed.has(kebabCase(name))));
  return kept.map((name) => unknownArgument(name, context)).join("; ");
}

function unknownArgument(name: string, context: UsageContext): string {
  const typed = typedFlag(name, context.argv);
  if (typed === undefined) {
    // A word, not a flag: a command yargs does not know, or one argument too many.
    if (name === context.command && !context.commands.includes(name)) return `unknown command "${name}"${suggestion(closestName(name, context.commands))}`;
    return `unexpected argument "${name}"`;
  }
  // `--no-x` for an unknown x, unless negation is off and `no-x` itself is the unknown name (embed's --no-face).
  if (typed.startsWith("--no-") && !name.startsWith("no-")) {
    const meant = closestName(name, context.booleans);
    return `unknown option ${typed}${suggestion(meant && `--no-${meant}`)}`;
  }
  const meant = closestName(name, context.options);
  return `unknown option ${typed}${suggestion(meant && `${meant.length > 1 ? "--" : "-"}${meant}`)}`;
}

function suggestion(meant: string | undefined): string {
  return meant ? ` (did you mean ${meant}?)` : "";
}

/** How the user wrote option `name` on the command line (`--dryrun`, `--no-crad`, `-x`), if as an option at all. */
function typedFlag(name: string, argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === "--") break;
    const flag = arg.split("=", 1)[0]!;
    if (flag === `--${name}` || flag === `--no-${name}`) return flag;
    if (name.length === 1 && /^-[^-]/.test(flag) && flag.includes(name)) return `-${name}`;
  }
  return undefined;
}

function invalidValues(message: string): string {
  const lines = message.split("\n").slice(1).map((line) => {
    const match = /Argument: (\S+), Given: (.*), Choices: (.*)$/.exec(line.trim());
    if (!match) return line.trim();
    const [, name, given, choices] = match;
    // A flag written without its value reaches yargs as `true`.
    if (given === "true") return `--${name} needs a value: ${choices!.replaceAll(", ", " | ")}`;
    return `--${name}: ${given} is not one of ${choices}`;
  });
  return lines.filter(Boolean).join("; ");
}

function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The candidate a typo most likely meant: fewest edits (a swap of two neighbours counts as one),
 * at most 1 edit for short words and 2 for longer ones, or a candidate the word begins.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    let distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (word.length >= 3 && name.startsWith(word)) distance = Math.min(distance, 1);
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
