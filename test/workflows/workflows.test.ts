/**
 * The GitHub Actions workflows, checked without GitHub: every file against the workflow schema
 * (@action-validator/core, the wasm build of action-validator), publish.yml's shape (triggers,
 * inputs, secret use, concurrency, caches, the shard matrix and its merge), every `idclusters`
 * command line against the CLI's own --help, and the two inline scripts (cache keys, plan summary)
 * run for real on this machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateWorkflow } from "@action-validator/core";
import { parse, stringify } from "yaml";
import type { RunPipelineResult } from "../../src/pipeline/run-pipeline.ts";
import { CLI_PATH } from "../support/run-cli.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const WORKFLOWS = join(REPO, ".github", "workflows");
const PUBLISH = join(WORKFLOWS, "publish.yml");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  strategy?: { matrix?: Record<string, unknown> };
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, any>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const publishText = readFileSync(PUBLISH, "utf8");
const publish = parse(publishText) as Workflow;

function step(job: string, predicate: (s: Step) => boolean, what: string): Step {
  const found = publish.jobs[job]?.steps.find(predicate);
  assert.ok(found, `publish.yml: job ${job} has no step that ${what}`);
  return found;
}

/** Runs a step's `run:` script as the runner's default shell does (bash -e), with the given env. */
function runStep(script: string, env: Record<string, string>) {
  return spawnSync("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
}

test("every workflow passes the workflow schema, and the validator fails broken copies", () => {
  const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
  assert.deepEqual(files, ["ci.yml", "publish.yml"]);
  for (const file of files) {
    const result = validateWorkflow(readFileSync(join(WORKFLOWS, file), "utf8"));
    assert.deepEqual(result.errors, [], `${file}: ${JSON.stringify(result.errors, null, 2)}`);
  }
  // The same check must be able to fail: a job without runs-on, a trigger that does not exist,
  // a dispatch input of an unknown type.
  const broken = [
    (w: any) => delete w.jobs.publish["runs-on"],
    (w: any) => (w.on.schedule = [{ cron: "weekly" }, { crontab: "0 0 * * 0" }]),
    (w: any) => (w.on.workflow_dispatch.inputs["dry-run"].type = "checkbox"),
  ];
  for (const breakIt of broken) {
    const copy = parse(publishText);
    breakIt(copy);
    assert.ok(validateWorkflow(stringify(copy)).errors.length > 0, `validator accepted ${breakIt.toString()}`);
  }
});

test("publish.yml: weekly schedule and dispatch inputs, token from secrets only, one publish per config", () => {
  assert.match(publish.on.schedule?.[0]?.cron ?? "", /^\S+ \S+ \* \* [0-6]$/, "a weekly cron");
  const inputs = publish.on.workflow_dispatch?.inputs ?? {};
  assert.equal(inputs.config?.default, "configs/celebahq_512.yaml");
  assert.ok(readFileSync(join(REPO, inputs.config.default)), "the default config exists");
  assert.equal(inputs["dry-run"]?.type, "boolean");
  assert.equal(inputs.shards?.type, "number");
  // Scheduled runs have no inputs: the config falls back to the same default everywhere, so the
  // scheduled and dispatched runs of one config share one concurrency group.
  assert.equal(publish.env?.CONFIG, "${{ inputs.config || 'configs/celebahq_512.yaml' }}");
  assert.equal(publish.concurrency?.group, "publish-${{ inputs.config || 'configs/celebahq_512.yaml' }}");
  assert.equal(publish.concurrency?.["cancel-in-progress"], false);
  assert.deepEqual(publish.permissions, { contents: "read" });
  // The token only ever comes from the secret, through the environment (never on a command line).
  const tokens: unknown[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "HF_TOKEN") tokens.push(value);
        collect(value);
      }
    }
  };
  collect(publish);
  assert.ok(tokens.length >= 3, "embed, merge and run get the token");
  for (const value of tokens) assert.equal(value, "${{ secrets.HF_TOKEN }}");
  assert.doesNotMatch(publishText, /--token/);
  // Inputs reach scripts through env, never pasted into a script (script injection).
  for (const job of Object.values(publish.jobs)) {
    for (const s of job.steps) assert.doesNotMatch(s.run ?? "", /\$\{\{\s*(inputs|github\.event)\./, `step ${s.name ?? s.run}`);
  }
});

test("publish.yml: Hub and embed caches keyed by source revision and models; shard matrix, partial artifacts, merge, then run", () => {
  const cacheSteps = Object.values(publish.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith("actions/cache"));
  const paths = new Set(cacheSteps.map((s) => s.with?.path));
  assert.ok(paths.has("${{ env.HF_HUB_CACHE }}"));
  assert.ok(paths.has("${{ env.WORK_DIR }}/cache/embed"));
  assert.equal(publish.env?.HF_HUB_CACHE, "${{ github.workspace }}/work/hf-cache/hub");
  // upload-artifact (>= 4.4) silently skips hidden paths, and hashFiles() sees only the workspace.
  assert.equal(publish.env?.WORK_DIR, "${{ github.workspace }}/work/idclusters");
  // No local state to carry between runs: `run` recognises its own release on the Hub (build key).
  assert.doesNotMatch(publishText, /published\.json/);
  for (const s of cacheSteps.filter((c) => c.with?.path === "${{ env.WORK_DIR }}/cache/embed")) {
    assert.match(String(s.with?.key), /models-key.*source-key/);
  }

  const embed = publish.jobs.embed!;
  assert.equal(embed.strategy?.matrix?.shard, "${{ fromJSON(needs.setup.outputs.shard-list) }}");
  const shardStep = step("embed", (s) => /idclusters embed/.test(s.run ?? ""), "runs idclusters embed");
  assert.match(shardStep.run!, /--shard "\$SHARD"/);
  assert.equal(shardStep.env?.SHARD, "${{ matrix.shard }}/${{ needs.setup.outputs.shards }}");
  const upload = step("embed", (s) => s.uses === "actions/upload-artifact@v4", "uploads the partial");
  // The artifact is the partial folder `embed --shard` writes, under the same name.
  assert.equal(upload.with?.path, "${{ env.WORK_DIR }}/partials/embed-${{ matrix.shard }}-of-${{ needs.setup.outputs.shards }}");
  assert.equal(upload.with?.name, "embed-${{ matrix.shard }}-of-${{ needs.setup.outputs.shards }}");

  const job = publish.jobs.publish!;
  assert.deepEqual(job.needs, ["setup", "embed"]);
  assert.match(job.if ?? "", /needs\.embed\.result == 'skipped'/, "publish also runs when there are no shards");
  const runs = job.steps.map((s) => s.run ?? s.uses ?? "");
  const at = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r));
  assert.ok(at(/download-artifact/) >= 0 && at(/download-artifact/) < at(/idclusters merge/) && at(/idclusters merge/) < at(/idclusters run/));
  assert.match(step("publish", (s) => /idclusters merge/.test(s.run ?? ""), "merges").run!, /--work-dir "\$WORK_DIR"/);
  const run = step("publish", (s) => /idclusters run/.test(s.run ?? ""), "runs idclusters run");
  assert.match(run.run!, /--json > "\$RUNNER_TEMP\/run\.json"/);
  assert.equal(run.env?.DRY_RUN, "${{ inputs.dry-run && 'true' || 'false' }}");
  assert.match(step("publish", (s) => /GITHUB_STEP_SUMMARY/.test(s.run ?? ""), "writes the job summary").if!, /always\(\)/);
});

test("every idclusters command line in the workflows uses a command and flags the CLI accepts", () => {
  const lines: string[] = [];
  for (const file of readdirSync(WORKFLOWS)) {
    const workflow = parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow;
    for (const job of Object.values(workflow.jobs)) {
      for (const s of job.steps) lines.push(...(s.run ?? "").replace(/\\\n/g, " ").split("\n").filter((l) => /\bnpx idclusters\s+\w/.test(l)));
    }
  }
  assert.ok(lines.length >= 4, `found ${lines.length} idclusters command lines`);
  const help = new Map<string, string>();
  for (const line of lines) {
    const match = /\bnpx idclusters\s+([a-z-]+)(.*)$/.exec(line)!;
    const command = match[1]!;
    if (!help.has(command)) {
      const result = spawnSync(process.execPath, [CLI_PATH, command, "--help"], { encoding: "utf8", timeout: 60_000 });
      assert.equal(result.status, 0, `idclusters ${command} --help: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`idclusters ${command}\\b`), `${command} is a command of the CLI`);
      help.set(command, result.stdout);
    }
    const flags = [...match[2]!.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
    for (const flag of flags) assert.match(help.get(command)!, new RegExp(`--${flag}\\b`), `idclusters ${command} has no --${flag} (${line.trim()})`);
  }
  const runHelp = help.get("run") ?? "";
  for (const flag of ["push", "dry-run", "json", "work-dir"]) assert.match(runHelp, new RegExp(`--${flag}\\b`));
  assert.ok(help.has("merge") && help.has("embed") && help.has("config"));
});

test("the cache-key step: keys follow the source revision and the models, shards become the matrix", async () => {
  const dir = await mkdtemp(join(tmpdir(), "idc-workflow-"));
  try {
    const script = step("setup", (s) => s.id === "keys", "derives the cache keys").run!;
    const base = await readFile(join(REPO, "configs", "celebahq_512.yaml"), "utf8");
    const keysFor = async (name: string, yamlText: string, shards = "3") => {
      const configFile = join(dir, `${name}.yaml`);
      await writeFile(configFile, yamlText);
      const output = join(dir, `${name}.out`);
      await writeFile(output, "");
      const result = runStep(script, { CONFIG: configFile, WORK_DIR: join(dir, "work"), RUNNER_TEMP: dir, GITHUB_OUTPUT: output, IDCLUSTERS_SHARDS: shards });
      if (result.status !== 0) return { failed: result.stderr } as Record<string, string>;
      return Object.fromEntries((await readFile(output, "utf8")).trim().split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2))) as Record<string, string>;
    };
    const keys = await keysFor("base", base);
    assert.equal(keys.failed, undefined, keys.failed);
    assert.match(keys["models-key"]!, /^embed-[0-9a-f]{24}$/);
    assert.match(keys["hf-key"]!, /^hf-[0-9a-f]{24}$/);
    assert.equal(keys.shards, "3");
    assert.equal(keys["shard-list"], "[0,1,2]");
    assert.deepEqual(await keysFor("again", base), keys, "the same config gives the same keys");

    for (const [name, value] of Object.entries({ keys })) assert.equal(value.failed, undefined, name);
    const newSource = await keysFor("source", base.replace("7ecc6a45edfb5483ccf2f7df1035d298ffe7c76b", "abcdef0123456789".repeat(3).slice(0, 40)));
    assert.equal(newSource.failed, undefined, newSource.failed);
    assert.notEqual(newSource["source-key"], keys["source-key"]);
    assert.notEqual(newSource["hf-key"], keys["hf-key"]);
    assert.equal(newSource["models-key"], keys["models-key"], "a new source revision keeps the models' embed cache prefix");

    const newModel = await keysFor("model", base.replace("321709b2e9697ea2a5bd06c8a51b340592333e1e", "fedcba9876543210".repeat(3).slice(0, 40)));
    assert.equal(newModel.failed, undefined, newModel.failed);
    assert.notEqual(newModel["models-key"], keys["models-key"]);
    const newThreshold = await keysFor("threshold", base.replace("score_threshold: 0.2 ", "score_threshold: 0.3 "));
    assert.notEqual(newThreshold["models-key"], keys["models-key"]);
    const newPin = await keysFor("pin", base.replace("    dtype: fp32", `    dtype: fp32\n    sha256: ${"a".repeat(64)}`));
    assert.notEqual(newPin["models-key"], keys["models-key"], "a recorded model SHA-256 is part of the key");

    assert.match((await keysFor("zero", base, "0")).failed ?? "", /shards must be 1\.\.256/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the summary step renders run --json's plan as Markdown, and says so when there is none", async () => {
  const dir = await mkdtemp(join(tmpdir(), "idc-summary-"));
  try {
    const script = step("publish", (s) => /GITHUB_STEP_SUMMARY/.test(s.run ?? ""), "writes the job summary").run!;
    const result: RunPipelineResult = {
      outDir: "/w/release",
      stages: { embed: "cached", cluster: "ran", ids: "ran", export: "ran" },
      plan: {
        target: "someone/faces_id_clusters",
        head: "c0ffee",
        repoMissing: false,
        added: ["data/train-00001-of-00002.parquet"],
        updated: ["README.md", "data/train-00000-of-00002.parquet"],
        deleted: [],
        unchanged: 3,
        rows: { previous: 40, current: 44 },
        identities: { previous: 8, current: 8 },
        cardChanged: true,
        previousCommit: "c0ffee",
        changelog: { kept: 7, fresh: 1, retired: 1, merges: [], splits: [{ id: "3", into: ["3", "9"] }] },
      },
      published: {
        committed: true,
        commitOid: "beef01",
        commitUrl: "https://hub.example/datasets/someone/faces_id_clusters/commit/beef01",
        added: ["data/train-00001-of-00002.parquet"],
        updated: ["README.md", "data/train-00000-of-00002.parquet"],
        deleted: [],
        unchanged: ["a", "b", "c"],
      },
    };
    await writeFile(join(dir, "run.json"), JSON.stringify(result));
    const summary = join(dir, "summary.md");
    await writeFile(summary, "");
    const env = { RUNNER_TEMP: dir, GITHUB_STEP_SUMMARY: summary, CONFIG: "configs/x.yaml" };
    let shell = runStep(script, env);
    assert.equal(shell.status, 0, shell.stderr);
    const markdown = await readFile(summary, "utf8");
    assert.match(markdown, /^## idclusters publish: `configs\/x\.yaml`/);
    assert.match(markdown, /\*\*published commit `beef01`\*\*/);
    assert.match(markdown, /\| target \| `someone\/faces_id_clusters` @ `c0ffee` \|/);
    assert.match(markdown, /\| rows \| 40 -> 44 \|/);
    assert.match(markdown, /\| identities \| 8 \(unchanged\) \|/);
    assert.match(markdown, /\| files \| 1 added, 2 changed, 0 deleted, 3 unchanged \|/);
    assert.match(markdown, /\| ids \| 7 kept, 1 new, 0 merges, 1 splits \|/);
    assert.match(markdown, /### Changed\n\n- `README\.md`\n- `data\/train-00000-of-00002\.parquet`/);
    assert.doesNotMatch(markdown, /### Deleted/);

    await rm(join(dir, "run.json"));
    await writeFile(summary, "");
    shell = runStep(script, env);
    assert.equal(shell.status, 0, shell.stderr);
    assert.match(await readFile(summary, "utf8"), /failed before printing its plan/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
