/**
 * Safe publishing (issue #10), tried as a careless user and a hostile environment would, with the
 * real CLI against the Hub emulator on the fixture faces and models:
 *  - `--push` without a token, and `--out` on a folder idclusters did not write, stop before any
 *    work: exit 2, nothing written, nothing sent;
 *  - two runs on one work dir: the second stops naming the first's pid; a dead holder's lock is
 *    reclaimed;
 *  - a release deletes only remote files it owns (its split's shards, its plots): another split's
 *    shards and foreign files stay, stale shards of its own split go;
 *  - an empty repo is not a previous release; a fresh work dir on an unchanged target publishes
 *    nothing (no local state needed);
 *  - `--create-pr` opens a pull request and leaves main alone; `release.private` and
 *    `release.gated` are applied; without `private` the Hub's default visibility is kept;
 *  - nothing pushed names a local path of the build machine.
 * The parent-commit guard and verify-before-push are tested in-process below, where the target can
 * be moved between the plan and the push.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/index.ts";
import { createRetryingFetch, resolveHubSettings } from "../../src/hub/index.ts";
import { planStep } from "../../src/pipeline/plan-step.ts";
import { publishStep } from "../../src/pipeline/publish-step.ts";
import { readTarget } from "../../src/pipeline/read-target.ts";
import { TOKEN, captureLogs, startEmulator } from "../hub/setup.ts";
import { startHubEmulator } from "../hub-emulator/index.ts";
import { CLI_PATH, runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");

function configText(target: string, extra = ""): string {
  return `name: safety_test
source: { path: ${FACES}, format: imagefolder, split: train }
models:
  detector: { kind: yunet, path: ${join(MODELS, "yunet_n_dynamic.onnx")}, license: MIT, input_size: 320, score_threshold: 0.5 }
  recognizer: { path: ${join(MODELS, "mobilefacenet_arcface_512.onnx")}, license: MIT, mean: 127.5, std: 127.5 }
faces: { device: cpu, batch_size: 8 }
images: { transform: keep }
clustering: { eps: 0.5, min_samples: 2, noise: singleton }
release:
  target: ${target}
  row_group_size: 10
  card: { pretty_name: Safety test, license: mit }
${extra}`;
}

/** Every file under `dir` with its size and mtime: a folder that was not touched compares equal. */
async function snapshot(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const full = join(e.parentPath, e.name);
    const info = await stat(full);
    out.push(`${full.slice(dir.length)} ${e.isFile() ? info.size : "dir"} ${info.mtimeMs}`);
  }
  return out.sort();
}

const writes = (requests: { method: string }[]) => requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");

test("run publishes safely", { skip: !existsSync(FACES) && "../shared/fixtures missing", timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-safety-"));
  const READ_TOKEN = "hf_readOnlyToken0123456789";
  const hub = await startHubEmulator({ storage: join(dir, "hub"), tokens: { [TOKEN]: "me", [READ_TOKEN]: { user: "me", role: "read" } } });
  t.after(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  const cacheDir = join(dir, "hf-cache");
  const writeConfig = async (name: string, target: string, extra = "") => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, configText(target, extra));
    return file;
  };
  const run = (config: string, workDir: string, args: string[] = [], env: Record<string, string> = {}) =>
    runCli(["run", "--config", config, "--hub-url", hub.url, "--cache-dir", cacheDir, "--work-dir", workDir, "--decode-workers", "0", "--json", ...args], { env });
  const withToken = { HF_TOKEN: TOKEN };

  // --push without a token: exit 2 before any work (no work dir, no request).
  const config = await writeConfig("config", "me/faces");
  const noToken = await run(config, join(dir, "work-none"), ["--push"]);
  assert.equal(noToken.code, 2, noToken.stderr);
  assert.match(noToken.stderr, /--push needs a Hub token/);
  assert.ok(!existsSync(join(dir, "work-none")), "nothing written");
  assert.equal(hub.requests.length, 0, "nothing sent");
  // --push offline cannot publish: exit 2, no request.
  const offline = await run(config, join(dir, "work-none"), ["--push"], { HF_TOKEN: TOKEN, HF_HUB_OFFLINE: "1" });
  assert.equal(offline.code, 2, offline.stderr);
  assert.match(offline.stderr, /--push cannot publish with HF_HUB_OFFLINE set/);
  assert.equal(hub.requests.length, 0, "nothing sent offline");
  // A read token cannot publish: said before any work (the Hub is only asked who the token is).
  const readOnly = await run(config, join(dir, "work-none"), ["--push"], { HF_TOKEN: READ_TOKEN });
  assert.equal(readOnly.code, 2, readOnly.stderr);
  assert.match(readOnly.stderr, /--push: the Hub token "emulator token" of me is a read token; publishing needs a write token/);
  assert.ok(!existsSync(join(dir, "work-none")), "nothing written");
  assert.deepEqual(writes(hub.requests), [], "nothing sent");

  // --out on a folder idclusters did not write: exit 2, the folder untouched.
  const foreign = join(dir, "my-folder");
  await mkdir(join(foreign, "data"), { recursive: true });
  await writeFile(join(foreign, "thesis.tex"), "precious");
  await writeFile(join(foreign, "data", "train-00000-of-00001.parquet"), "not ours");
  const before = await snapshot(foreign);
  const refused = await run(config, join(dir, "work-out"), ["--out", foreign]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--out .*my-folder: the folder is not empty and was not written by idclusters/);
  const dot = await runCli(["run", "--config", config, "--work-dir", join(dir, "work-out"), "--out", "."], { cwd: foreign });
  assert.equal(dot.code, 2, dot.stderr);
  assert.match(dot.stderr, /--out .*holds the current folder/);
  assert.deepEqual(await snapshot(foreign), before, "--out refused: nothing in the folder changed");

  // The first build (embeds once; later work dirs are copies, so their stages are cached).
  const base = join(dir, "work-base");
  const built = await run(config, base);
  assert.equal(built.code, 0, built.stderr);
  assert.equal(JSON.parse(built.stdout).plan.repoMissing, true);
  assert.equal(JSON.parse(built.stdout).notPushed, "no --push");
  const copyWork = async (name: string) => {
    const to = join(dir, name);
    await cp(base, to, { recursive: true });
    return to;
  };

  // A full disk in the middle of an export: exit 1 naming it, the previous release stays whole, the
  // unfinished one is dropped, the lock released. Needs a small tmpfs (root); otherwise said and skipped.
  {
    const disk = join(dir, "small-disk");
    await mkdir(disk);
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", disk]).status !== 0) {
      t.diagnostic("full-disk case skipped: mounting a 3 MB tmpfs needs root");
    } else {
      try {
        const work = await copyWork("work-full");
        const out = join(disk, "release");
        const first = await run(config, work, ["--out", out]);
        assert.equal(first.code, 0, first.stderr);
        const contents = async () => {
          const files = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
          return Object.fromEntries(await Promise.all(files.map(async (e) => [join(e.parentPath, e.name), (await readFile(join(e.parentPath, e.name))).toString("base64")])));
        };
        const before = await contents();
        const { bavail, bsize } = await statfs(disk);
        await writeFile(join(disk, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - 64 * 1024)));
        const otherEps = join(dir, "other-eps.yaml");
        await writeFile(otherEps, configText("me/faces").replace("eps: 0.5", "eps: 0.45"));
        const full = await run(otherEps, work, ["--out", out]);
        assert.equal(full.code, 1, full.stderr);
        assert.match(full.stderr, /ENOSPC|no space left/i);
        assert.deepEqual(await contents(), before, "the previous release is untouched");
        assert.ok(!existsSync(join(out, ".idclusters-staging")), "the unfinished release is dropped");
        assert.ok(!existsSync(join(work, ".lock")) && !existsSync(join(out, ".idclusters-release.lock")), "locks released");
      } finally {
        spawnSync("umount", [disk]);
      }
    }
  }

  // Two runs on one work dir: the second stops and names the first's pid.
  {
    // A work dir of its own. The first run is stopped (SIGSTOP) as soon as it holds the lock, so
    // it is still at work whatever the machine's speed when the second tries; then it goes on.
    const work = join(dir, "work-lock");
    const first = spawn(process.execPath, [CLI_PATH, "run", "--config", config, "--work-dir", work, "--hub-url", hub.url, "--cache-dir", cacheDir], { stdio: "ignore" });
    const firstDone = new Promise((resolve) => first.on("exit", resolve));
    for (let waited = 0; !existsSync(join(work, ".lock")); waited += 5) {
      assert.ok(waited < 60_000 && first.exitCode === null, "the first run never took the lock");
      await new Promise((r) => setTimeout(r, 5));
    }
    first.kill("SIGSTOP");
    const second = await run(config, work).finally(() => first.kill("SIGCONT"));
    await firstDone;
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`work dir .* is in use by pid ${first.pid}`));
    assert.equal(first.exitCode, 0);
    // A lock left by a killed process is reclaimed.
    await writeFile(join(work, ".lock"), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import("node:os")).hostname(), command: "run", since: "then" }));
    const reclaimed = await run(config, work);
    assert.equal(reclaimed.code, 0, reclaimed.stderr);
    assert.match(reclaimed.stderr, /reclaimed the lock of pid 4194321, which is no longer running/);
    assert.ok(!existsSync(join(work, ".lock")), "the lock is released at the end");
  }

  // Ctrl-C mid-run: exit 130, the lock goes with the process, no release folder is left behind.
  {
    const work = join(dir, "work-sigint");
    const child = spawn(process.execPath, [CLI_PATH, "run", "--config", config, "--work-dir", work, "--hub-url", hub.url, "--cache-dir", cacheDir], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let waited = 0; !existsSync(join(work, ".lock")); waited += 10) {
      assert.ok(waited < 60_000 && child.exitCode === null, "the run never took the lock");
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    assert.ok(!existsSync(join(work, ".lock")), "Ctrl-C drops the lock");
    assert.ok(!existsSync(join(work, "release")), "no release folder from an interrupted run");
  }

  // Owned files only: another split's shards, stale shards of ours and foreign files on the target.
  const shard = await readFile(join(base, "release", "data", "train-00000-of-00001.parquet"));
  await hub.seed({
    repo: "me/faces",
    files: {
      "data/test-00000-of-00001.parquet": "another split",
      "data/train-00000-of-00002.parquet": shard,
      "data/train-00001-of-00002.parquet": shard,
      "notes/method.md": "hand-written",
      "assets/diagram.svg": "<svg/>",
    },
    message: "someone's files",
  });
  const work = await copyWork("work-push");
  const pushed = await run(config, work, ["--push", "--tag", "v1"], withToken);
  assert.equal(pushed.code, 0, pushed.stderr);
  const result = JSON.parse(pushed.stdout);
  assert.equal(result.published.committed, true);
  assert.deepEqual(result.plan.deleted, ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
  const remote = await hub.files("me/faces", "main");
  for (const kept of ["data/test-00000-of-00001.parquet", "notes/method.md", "assets/diagram.svg"]) assert.ok(kept in remote, `${kept} kept`);
  assert.ok(!("data/train-00000-of-00002.parquet" in remote) && "data/train-00000-of-00001.parquet" in remote);
  assert.ok(!(".idclusters-release.json" in remote), "the folder marker is not published");
  // Nothing pushed names a local path of the build machine.
  for (const path of Object.keys(remote)) {
    const text = Buffer.from(await hub.readFile("me/faces", "main", path)).toString("latin1");
    for (const local of [dir, tmpdir() + "/", FIXTURES, process.cwd()]) assert.ok(!text.includes(local), `${path} names ${local}`);
  }

  // A fresh work dir (a CI cache miss) on the unchanged target publishes nothing.
  const commits = (await hub.commits("me/faces")).length;
  const fresh = await run(config, join(dir, "work-fresh"), ["--push"], withToken);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(JSON.parse(fresh.stdout).published.committed, false, "same release, nothing to publish");
  assert.equal((await hub.commits("me/faces")).length, commits);

  // Someone edits the card on the Hub after our release: an unchanged rerun keeps the edit, commits nothing.
  const ourCard = Buffer.from(await hub.readFile("me/faces", "main", "README.md")).toString("utf8");
  await hub.seed({ repo: "me/faces", files: { "README.md": ourCard + "\nA note added on the Hub.\n" }, message: "note" });
  const edited = (await hub.commits("me/faces")).length;
  const afterEdit = await run(config, join(dir, "work-fresh"), ["--push"], withToken);
  assert.equal(afterEdit.code, 0, afterEdit.stderr);
  assert.equal(JSON.parse(afterEdit.stdout).published.committed, false, "the edited card is ours plus the note: nothing to publish");
  assert.equal((await hub.commits("me/faces")).length, edited);

  // An empty repo is not a previous release: its card equals the card of a never-existing target.
  await hub.seed({ repo: "me/empty", files: {} });
  const emptyConfig = await writeConfig("empty", "me/empty");
  const toEmpty = await run(emptyConfig, await copyWork("work-empty"), ["--push"], withToken);
  assert.equal(toEmpty.code, 0, toEmpty.stderr);
  assert.equal(JSON.parse(toEmpty.stdout).plan.previousCommit, null);
  const newConfig = await writeConfig("new", "me/empty2");
  const toNew = await run(newConfig, await copyWork("work-new"), ["--push"], withToken);
  assert.equal(toNew.code, 0, toNew.stderr);
  const cardOf = async (repo: string) => Buffer.from(await hub.readFile(repo, "main", "README.md")).toString("utf8");
  assert.equal((await cardOf("me/empty")).replaceAll("me/empty", "REPO"), (await cardOf("me/empty2")).replaceAll("me/empty2", "REPO"));
  assert.doesNotMatch(await cardOf("me/empty"), /Previous release/);
  assert.equal((await hub.settings("me/empty2")).private, false, "no `private` in the config: the Hub's default (public here)");

  // --create-pr: a pull request, main unchanged; private + gated applied before the data.
  const prConfig = await writeConfig(
    "pr",
    "org/faces",
    '  private: true\n  gated: manual\n  gated_prompt: "Biometric data: describe your use."\n  gated_fields: { Affiliation: text, "I use it for research only": checkbox }\n',
  );
  await hub.seed({ repo: "org/faces", files: { "README.md": "---\nlicense: mit\n---\n# faces\n" } });
  const mainBefore = (await hub.refs("org/faces")).branches.main;
  const pr = await run(prConfig, await copyWork("work-pr"), ["--push", "--create-pr"], withToken);
  assert.equal(pr.code, 0, pr.stderr);
  const opened = JSON.parse(pr.stdout).published;
  assert.match(opened.pullRequestUrl, /discussions\/\d+|refs\/pr\/\d+|pull/);
  assert.equal((await hub.refs("org/faces")).branches.main, mainBefore, "main unchanged by a pull request");
  assert.deepEqual(await hub.settings("org/faces"), { private: true, gated: "manual" });
  const prCard = Buffer.from(await hub.readFile("org/faces", opened.commitOid, "README.md")).toString("utf8");
  assert.match(prCard, /\nextra_gated_prompt: 'Biometric data: describe your use\.'\nextra_gated_fields:\n  Affiliation: text\n  I use it for research only: checkbox\n/);
  const settingsAt = hub.requests.findIndex((r) => r.method === "PUT" && r.path.includes("/org/faces/settings"));
  const commitAt = hub.requests.findIndex((r) => r.method === "POST" && r.path.includes("/org/faces/commit/"));
  assert.ok(settingsAt >= 0 && settingsAt < commitAt, "access settings before the data");
});

test("publish: the parent is the planned head, and an unverifiable release is not pushed", { skip: !existsSync(FACES) && "../shared/fixtures missing", timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-parent-"));
  const { hub } = await startEmulator();
  t.after(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  const file = join(dir, "config.yaml");
  await writeFile(file, configText("me/moving"));
  const work = join(dir, "work");
  const built = await runCli(["run", "--config", file, "--work-dir", work, "--hub-url", hub.url, "--cache-dir", join(dir, "hf-cache"), "--decode-workers", "0"]);
  assert.equal(built.code, 0, built.stderr);
  const config = await loadConfig({ file, workDir: work });
  const settings = { ...resolveHubSettings({ hubUrl: hub.url, token: TOKEN, cacheDir: join(dir, "hf-cache") }), accessToken: TOKEN };
  const fetch = createRetryingFetch({});
  const outDir = join(work, "release");
  const files: Record<string, string> = {};
  const marker = JSON.parse(await readFile(join(outDir, ".idclusters-release.json"), "utf8")) as { files: string[] };
  const { sha256OfFile } = await import("../../src/common/file-hashes.ts");
  for (const path of marker.files) files[path] = await sha256OfFile(join(outDir, path));

  // Planned against a head; someone commits before the push: nothing changes, the message says so.
  const head = await hub.seed({ repo: "me/moving", files: { "data/train-00000-of-00003.parquet": "old shard" } });
  const target = await readTarget({ target: "me/moving", settings, fetch });
  const plan = await planStep({ config, target, outDir, files, previousCommit: null, changelog: null });
  assert.equal(plan.head, head);
  const theirs = await hub.seed({ repo: "me/moving", files: { "data/train-00001-of-00003.parquet": "their shard" }, message: "someone else" });
  const { error } = await captureLogs(() => publishStep({ config, plan, outDir, files, settings, fetch, toolVersion: "test" }));
  assert.match(String(error), new RegExp(`branch moved from ${head} to ${theirs} since the release was planned; nothing was changed`));
  assert.equal((await hub.refs("me/moving")).branches.main, theirs);
  assert.ok("data/train-00001-of-00003.parquet" in (await hub.files("me/moving", "main")), "their file is still there");

  // A release whose card lies about its data is not pushed: nothing is sent.
  const fresh = await readTarget({ target: "me/moving", settings, fetch });
  const card = await readFile(join(outDir, "README.md"), "utf8");
  await writeFile(join(outDir, "README.md"), card.replace(/num_examples: 40/, "num_examples: 41"));
  hub.clearRequests();
  const lying = await captureLogs(() => publishStep({ config, plan: { ...plan, head: fresh.status === "present" ? fresh.head : "" }, outDir, files, settings, fetch, toolVersion: "test" }));
  assert.match(String(lying.error), /fails verification, nothing was pushed/);
  assert.deepEqual(writes(hub.requests), [], "no write request");
});
