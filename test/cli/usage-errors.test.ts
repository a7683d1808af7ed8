/**
 * A usage error stops a command before it does anything. For every command in the catalog, the
 * real CLI run with a misspelled flag or without a required option exits 2, names the flag on
 * stderr, sends no request to the Hub and changes no file. Each invocation is a would-be side
 * effect (a push, a download, a build) that passes validation without the mistake, so the mistake
 * alone is what stops it. Bad values (wrong types, ranges, choices, exclusive options) are checked
 * in-process, faster: the exact message, and that the handler never ran.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import yargs, { type Argv } from "yargs";
import { commandCatalog, commandName } from "../../src/cli/commands/index.ts";
import { parseCommandLine } from "../../src/cli/main.ts";
import { UsageError } from "../../src/common/errors.ts";
import { startHubEmulator, type HubEmulator } from "../hub-emulator/index.ts";
import { runCli, type CliResult } from "../support/run-cli.ts";

/** The files of one invocation: its cwd (default work dir), config, inputs, Hub cache and home. */
interface CaseDir {
  root: string;
  config: string;
  faces: string;
  release: string;
  embeddings: string;
  partials: string;
}

/** One command line of a command, its own fresh folder, and what stderr must say. */
interface Invocation {
  command: string;
  label: string;
  argv: (d: CaseDir) => string[];
  says: string | RegExp;
  /** Also run as a child process (typos, missing requirements, missing tokens); others in-process only. */
  child: boolean;
}

interface CommandCases {
  /** Passes validation and would write, download or push if run. */
  valid: (d: CaseDir) => { positionals?: string[]; flags: string[] };
  /** The valid invocation with one flag misspelled (or one added, misspelled). */
  typo: (d: CaseDir) => string[];
  typoSays: string;
  /** Requirements yargs cannot declare (one of two options; `child`), and wrong values: each on its own. */
  more?: { label: string; argv: (d: CaseDir) => string[]; says: string | RegExp; child?: true }[];
}

const TOKEN = ["--token", "hf_usage_test"];

const cases: Record<string, CommandCases> = {
  run: {
    valid: (d) => ({ flags: ["--config", d.config, "--push", ...TOKEN] }),
    typo: (d) => ["run", "--config", d.config, "--push", "--dryrun", ...TOKEN],
    typoSays: "unknown option --dryrun (did you mean --dry-run?)",
    more: [
      { label: "--push without a token", argv: (d) => ["run", "--config", d.config, "--push"], says: "--push needs a Hub token: set HF_TOKEN or pass --token", child: true },
      { label: "a boolean given a value", argv: (d) => ["run", "--config", d.config, "--push", "--dry-run=yes", ...TOKEN], says: '--dry-run takes no value (got "yes"' },
      { label: "--decode-workers -1", argv: (d) => ["run", "--config", d.config, "--decode-workers", "-1"], says: "--decode-workers must be an integer >= 0, got -1" },
      { label: "--create-pr without --push", argv: (d) => ["run", "--config", d.config, "--create-pr"], says: "--create-pr opens the release as a pull request: it needs --push" },
      { label: "--config given twice", argv: (d) => ["run", "--config", d.config, "--config", d.config], says: "--config given more than once" },
    ],
  },
  config: {
    valid: (d) => ({ flags: ["--config", d.config] }),
    typo: (d) => ["config", "--config", d.config, "--josn"],
    typoSays: "unknown option --josn (did you mean --json?)",
    more: [{ label: "--config without its value", argv: () => ["config", "--config"], says: "--config needs a value" }],
  },
  pull: {
    valid: () => ({ flags: ["--repo", "me/x", "--revision", "main"] }),
    typo: () => ["pull", "--repo", "me/x", "--revsion", "main"],
    typoSays: "unknown option --revsion (did you mean --revision?)",
    more: [
      { label: "neither --repo nor --config", argv: () => ["pull", "--revision", "main"], says: "give --repo <ns/name> or --config <file>", child: true },
      { label: "--config with --revision", argv: (d) => ["pull", "--config", d.config, "--revision", "main"], says: "--config and --revision exclude each other" },
      { label: "--concurrency 0", argv: () => ["pull", "--repo", "me/x", "--concurrency", "0"], says: "--concurrency must be an integer >= 1, got 0" },
      { label: "--repo local/..", argv: () => ["pull", "--repo", "local/.."], says: '--repo: "local/.." is not a Hub repo id' },
    ],
  },
  push: {
    valid: (d) => ({ flags: ["--repo", "me/x", "--folder", d.release, ...TOKEN] }),
    typo: (d) => ["push", "--repo", "me/x", "--folder", d.release, "--privat", ...TOKEN],
    typoSays: "unknown option --privat (did you mean --private?)",
    more: [
      { label: "no token", argv: (d) => ["push", "--repo", "me/x", "--folder", d.release], says: "push needs a Hub token: set HF_TOKEN or pass --token", child: true },
      { label: "--repo-type choices", argv: (d) => ["push", "--repo", "me/x", "--folder", d.release, "--repo-type", "space", ...TOKEN], says: '--repo-type: "space" is not one of "dataset", "model"' },
      { label: "a missing folder", argv: (d) => ["push", "--repo", "me/x", "--folder", join(d.root, "nope"), ...TOKEN], says: /--folder: .*nope does not exist/ },
    ],
  },
  embed: {
    valid: (d) => ({ flags: ["--config", d.config, "--shard", "0/2"] }),
    typo: (d) => ["embed", "--config", d.config, "--shrad", "0/2"],
    typoSays: "unknown option --shrad (did you mean --shard?)",
    more: [
      { label: "neither --config nor --images", argv: () => ["embed", "--batch-size", "8"], says: "give --config <file>, or --images <folder>", child: true },
      { label: "ad hoc without --recognizer", argv: (d) => ["embed", "--images", d.faces, "--detector", `yunet=${join(d.root, "det.onnx")}`, "--out", join(d.root, "e.npy")], says: "without --config, embed needs --recognizer", child: true },
      { label: "--shard 3/2", argv: (d) => ["embed", "--config", d.config, "--shard", "3/2"], says: '--shard must be i/n with 0 <= i < n (e.g. 0/4), got "3/2"' },
      { label: "--config with --images", argv: (d) => ["embed", "--config", d.config, "--images", d.faces], says: "give either --config or --images, not both" },
    ],
  },
  merge: {
    valid: (d) => ({ flags: ["--config", d.config, "--partials", d.partials] }),
    typo: (d) => ["merge", "--config", d.config, "--partial", d.partials],
    typoSays: "unknown option --partial (did you mean --partials?)",
    more: [{ label: "--partials without --config or --out", argv: (d) => ["merge", "--partials", d.partials], says: "without --config, merge needs --out", child: true }],
  },
  cluster: {
    valid: (d) => ({ flags: ["--embeddings", d.embeddings, "--eps", "0.3", "--min-samples", "2", "--labels-out", join(d.root, "labels.npy")] }),
    typo: (d) => ["cluster", "--embeddings", d.embeddings, "--eps", "0.3", "--min-sample", "2", "--labels-out", join(d.root, "labels.npy")],
    typoSays: "unknown option --min-sample (did you mean --min-samples?)",
    more: [
      { label: "neither --embeddings nor --config", argv: (d) => ["cluster", "--labels-out", join(d.root, "labels.npy")], says: "cluster needs --embeddings <file.npy> or --config <file.yaml>", child: true },
      { label: "--eps abc", argv: (d) => ["cluster", "--embeddings", d.embeddings, "--eps", "abc"], says: '--eps: "abc" is not a number' },
      { label: "--eps 2", argv: (d) => ["cluster", "--embeddings", d.embeddings, "--eps", "2"], says: "--eps must be in (0, 2), got 2" },
      { label: "--min-samples -1", argv: (d) => ["cluster", "--embeddings", d.embeddings, "--min-samples", "-1"], says: "--min-samples must be an integer >= 1, got -1" },
      { label: "--noise maybe", argv: (d) => ["cluster", "--embeddings", d.embeddings, "--noise", "maybe"], says: '--noise: "maybe" is not one of "singleton", "keep", "drop"' },
      { label: "--eps without its value", argv: (d) => ["cluster", "--embeddings", d.embeddings, "--eps"], says: "--eps needs a value" },
    ],
  },
  export: {
    valid: (d) => ({ flags: ["--config", d.config, "--out", join(d.root, "out")] }),
    typo: (d) => ["export", "--config", d.config, "--out", join(d.root, "out"), "--no-crad"],
    typoSays: "unknown option --no-crad (did you mean --no-card?)",
  },
  card: {
    valid: (d) => ({ flags: ["--config", d.config, "--existing", "me/x@main"] }),
    typo: (d) => ["card", "--config", d.config, "--exisitng", "me/x@main"],
    typoSays: "unknown option --exisitng (did you mean --existing?)",
    more: [{ label: "--fresh with --existing", argv: (d) => ["card", "--config", d.config, "--fresh", "--existing", "me/x@main"], says: "--fresh and --existing exclude each other" }],
  },
  verify: {
    valid: () => ({ positionals: ["me/x@main"], flags: ["--against", "me/x@main"] }),
    typo: () => ["verify", "me/x@main", "--agains", "me/x@main"],
    typoSays: "unknown option --agains (did you mean --against?)",
    more: [
      { label: "one argument too many", argv: () => ["verify", "me/x@main", "me/y"], says: 'unexpected argument "me/y"' },
      { label: "a release that is neither a folder nor a repo", argv: () => ["verify", "local/.."], says: '<release>: "local/.." is neither an existing path nor a Hub dataset' },
    ],
  },
  inspect: {
    valid: (d) => ({ positionals: [d.release], flags: ["--clusters", "4", "--out", join(d.root, "sheets")] }),
    typo: (d) => ["inspect", d.release, "--cluster", "4", "--out", join(d.root, "sheets")],
    typoSays: "unknown option --cluster (did you mean --clusters?)",
    more: [{ label: "--clusters 0", argv: (d) => ["inspect", d.release, "--clusters", "0"], says: "--clusters must be an integer >= 1, got 0" }],
  },
  review: {
    valid: (d) => ({ flags: ["--config", d.config, "--static", join(d.root, "copy")] }),
    typo: (d) => ["review", "--config", d.config, "--statik", join(d.root, "copy")],
    typoSays: "unknown option --statik (did you mean --static?)",
    more: [
      { label: "--port 70000", argv: (d) => ["review", "--config", d.config, "--port", "70000"], says: "--port must be an integer in 0..65535, got 70000" },
      { label: "--port -1", argv: (d) => ["review", "--config", d.config, "--port", "-1"], says: "--port must be an integer in 0..65535, got -1" },
      { label: "--static onto a file", argv: (d) => ["review", "--config", d.config, "--static", d.embeddings], says: /--static: .*embeddings\.npy is a file, not a folder/, child: true },
      { label: "--host (loopback only, not offered)", argv: (d) => ["review", "--config", d.config, "--host", "0.0.0.0"], says: "unknown option --host", child: true },
      { label: "--reviewer without its value", argv: (d) => ["review", "--config", d.config, "--reviewer"], says: "--reviewer needs a value" },
    ],
  },
};

let hub: HubEmulator;
let base: string;

before(async () => {
  base = mkdtempSync(join(tmpdir(), "idc-usage-"));
  hub = await startHubEmulator({ storage: join(base, "hub") });
  // A repo every Hub-reading invocation would really fetch from, were it not stopped.
  await hub.seed({ repo: "me/x", files: { "README.md": "---\nlicense: mit\n---\n# x\n", "data/train-00000-of-00001.parquet": "not parquet" } });
  hub.clearRequests();
  // In-process checks read the environment too: no token from this machine may leak in.
  for (const key of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT"]) delete process.env[key];
  process.env.HF_HOME = join(base, "hf-home");
});

after(async () => {
  await hub?.close();
  rmSync(base, { recursive: true, force: true });
});

let caseCount = 0;
/** A fresh folder per invocation, so a write is pinned on the invocation that made it. */
function caseDir(): CaseDir {
  const root = join(base, `case-${caseCount++}`);
  const d: CaseDir = {
    root,
    config: join(root, "config.yaml"),
    faces: join(root, "faces"),
    release: join(root, "release"),
    embeddings: join(root, "embeddings.npy"),
    partials: join(root, "partials"),
  };
  for (const dir of [d.faces, join(d.release, "data"), d.partials]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(d.faces, "a.png"), "png");
  for (const file of ["det.onnx", "rec.onnx"]) writeFileSync(join(root, file), "onnx");
  writeFileSync(d.embeddings, "npy");
  writeFileSync(join(d.release, "README.md"), "# release\n");
  writeFileSync(join(d.release, "data", "train-00000-of-00001.parquet"), "parquet");
  writeFileSync(
    d.config,
    [
      "name: usage_test",
      "source: { path: faces, format: imagefolder }",
      "models:",
      "  detector: { kind: yunet, path: det.onnx }",
      "  recognizer: { path: rec.onnx }",
      "release: { target: me/x }",
      "",
    ].join("\n"),
  );
  return d;
}

/** Every file and folder under `root` with its size and modification time. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    const info = statSync(join(root, entry));
    out[entry] = `${info.isDirectory() ? "dir" : info.size} ${info.mtimeMs}`;
  }
  return out;
}

/** The demanded options and positionals of a command, read from its own options builder. */
async function requiredOf(entry: (typeof commandCatalog)[number]): Promise<{ options: string[]; positionals: string[] }> {
  const builder = await entry.options();
  const parser = builder(yargs([]) as Argv<any>) as unknown as { getDemandedOptions(): Record<string, unknown> };
  return {
    options: Object.keys(parser.getDemandedOptions()),
    positionals: [...entry.command.matchAll(/<([^>]+)>/g)].map((m) => m[1]!),
  };
}

/** Every invocation to try, built from the catalog: a command without cases fails here. */
async function invocations(): Promise<Invocation[]> {
  const names = commandCatalog.map(commandName);
  assert.deepEqual(Object.keys(cases).sort(), [...names].sort(), "every command in src/cli/commands/index.ts needs usage-error cases here");
  const list: Invocation[] = [];
  for (const entry of commandCatalog) {
    const name = commandName(entry);
    const c = cases[name]!;
    list.push({ command: name, label: "misspelled flag", argv: c.typo, says: c.typoSays, child: true });
    const required = await requiredOf(entry);
    for (const option of required.options) {
      list.push({
        command: name,
        label: `without --${option}`,
        argv: (d) => {
          const { positionals = [], flags } = c.valid(d);
          const at = flags.indexOf(`--${option}`);
          assert.ok(at >= 0, `${name}: the valid invocation lacks its required --${option}`);
          const hasValue = flags[at + 1] !== undefined && !flags[at + 1]!.startsWith("--");
          return [name, ...positionals, ...flags.filter((_, i) => i !== at && !(hasValue && i === at + 1))];
        },
        says: `missing required option --${option}`,
        child: true,
      });
    }
    for (const positional of required.positionals) {
      list.push({ command: name, label: `without <${positional}>`, argv: (d) => [name, ...c.valid(d).flags], says: `missing argument <${positional}>`, child: true });
    }
    for (const { child, ...more } of c.more ?? []) list.push({ command: name, ...more, child: child === true });
  }
  return list;
}

/** The valid invocation of a command as a command line. */
function validArgv(name: string, d: CaseDir): string[] {
  const { positionals = [], flags } = cases[name]!.valid(d);
  return [name, ...positionals, ...flags];
}

test("each command's valid invocation passes validation, and its usage errors stop it before the handler", async () => {
  for (const entry of commandCatalog) {
    const name = commandName(entry);
    const d = caseDir();
    const ran: string[] = [];
    const record = async (e: (typeof commandCatalog)[number]) => {
      ran.push(commandName(e));
    };
    await parseCommandLine(validArgv(name, d), record);
    assert.deepEqual(ran, [name], `${name}: the valid invocation reaches the handler (otherwise the cases below prove nothing)`);
  }
  for (const invocation of await invocations()) {
    let ran = false;
    const what = `${invocation.command}: ${invocation.label}`;
    await assert.rejects(
      parseCommandLine(invocation.argv(caseDir()), async () => {
        ran = true;
      }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError, `${what}: ${error}`);
        if (typeof invocation.says === "string") assert.ok(error.message.startsWith(invocation.says), `${what}: "${error.message}", expected "${invocation.says}"`);
        else assert.match(error.message, invocation.says, what);
        return true;
      },
      what,
    );
    assert.equal(ran, false, `${what}: the handler ran after a usage error`);
  }
});

test("every command: a usage error exits 2, names the flag, and writes, downloads and pushes nothing", async (t) => {
  const list = (await invocations()).filter((invocation) => invocation.child);
  const results: { invocation: Invocation; result: CliResult; changed: string[]; ms: number }[] = [];
  let next = 0;
  // A few at a time: each is a node start-up, most of it waiting on the module loader.
  const worker = async () => {
    while (next < list.length) {
      const invocation = list[next++]!;
      const d = caseDir();
      const before = snapshot(d.root);
      const started = performance.now();
      const result = await runCli(invocation.argv(d), {
        cwd: d.root,
        env: { HF_ENDPOINT: hub.url, HF_HOME: join(d.root, "hf-home"), HF_HUB_CACHE: join(d.root, "hub-cache"), HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined, HF_TOKEN_PATH: undefined },
        timeoutMs: 60_000,
      });
      const ms = performance.now() - started;
      const after = snapshot(d.root);
      const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).map((k) => relative(base, join(d.root, k)));
      results.push({ invocation, result, changed, ms });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));

  for (const { invocation, result, changed } of results) {
    const what = `${invocation.command} (${invocation.label}):\n${result.stderr}`;
    assert.equal(result.code, 2, what);
    if (typeof invocation.says === "string") assert.ok(result.stderr.includes(`idclusters: ${invocation.says}`), `${what}\nexpected: ${invocation.says}`);
    else assert.match(result.stderr, invocation.says, what);
    assert.equal(result.stdout, "", `${what}: printed to stdout`);
    assert.deepEqual(changed, [], `${what}: files changed`);
  }
  assert.deepEqual(hub.requests, [], "a usage error sent requests to the Hub");
  const typos = results.filter((r) => r.invocation.label === "misspelled flag").map((r) => r.ms);
  t.diagnostic(`${results.length} usage errors; a typo exits 2 after ${Math.round(Math.min(...typos))}-${Math.round(Math.max(...typos))} ms (4 at a time)`);
});
