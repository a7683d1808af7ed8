import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubEmulator } from "../hub-emulator/index.ts";
import { pullSnapshot } from "../../src/hub/pull-snapshot.ts";
import { pushFolder } from "../../src/hub/push-folder.ts";
import { runCli } from "../support/run-cli.ts";
import { FAST_RETRIES, TOKEN, allFileText, bytes, captureLogs } from "./setup.ts";

/** A valid-looking token the emulator does not know: its 401 path must not echo it either. */
const WRONG_TOKEN = "hf_wrongButSecretToken9876543210";

function mentions(text: string): string[] {
  return [TOKEN, WRONG_TOKEN].filter((secret) => text.includes(secret));
}

test("the token appears in no log line, error, CLI output or cached file, on success and on failure", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idc-secret-"));
  const hub = await startHubEmulator({ storage: join(dir, "storage"), tokens: { [TOKEN]: "me" } });
  try {
    await hub.seed({ repo: "me/source", files: { "README.md": "# s\n", "data/train-00000-of-00001.parquet": bytes(50_000, 1) }, private: true });
    const cacheDir = join(dir, "cache");
    const folder = join(dir, "release");
    mkdirSync(join(folder, "data"), { recursive: true });
    writeFileSync(join(folder, "README.md"), "# release\n");
    writeFileSync(join(folder, "data", "train-00000-of-00001.parquet"), bytes(60_000, 2));

    const raced = join(dir, "raced");
    mkdirSync(raced);
    writeFileSync(join(raced, "README.md"), "# changed\n");

    // In process: every outcome's log lines, error messages and stacks.
    const client = { hubUrl: hub.url, retryPolicy: FAST_RETRIES };
    const outcomes = [
      await captureLogs(() => pullSnapshot({ ...client, repo: "me/source", accessToken: TOKEN, cacheDir })),
      await captureLogs(() => pushFolder({ ...client, repo: "me/release", folder, accessToken: TOKEN, tag: "v1" })),
      await captureLogs(() => pullSnapshot({ ...client, repo: "me/missing", accessToken: TOKEN, cacheDir })),
      await captureLogs(() => pullSnapshot({ ...client, repo: "me/source", accessToken: WRONG_TOKEN, cacheDir })),
      await captureLogs(() => pushFolder({ ...client, repo: "me/release", folder, accessToken: WRONG_TOKEN })),
      await captureLogs(() =>
        pushFolder({
          ...client,
          repo: "me/release",
          folder: raced,
          accessToken: TOKEN,
          beforeCommit: async () => void (await hub.seed({ repo: "me/release", files: { "x.txt": "race" } })),
        }),
      ),
    ];
    assert.equal(outcomes.filter((o) => o.error).length, 4, "four of the six runs fail");
    for (const outcome of outcomes) {
      const error = outcome.error as Error | undefined;
      const text = [...outcome.lines, error?.message ?? "", error?.stack ?? "", JSON.stringify(outcome.value ?? {})].join("\n");
      assert.deepEqual(mentions(text), [], text);
    }

    // As a user runs it: child processes (few: each costs seconds), debug logging on (stacks
    // printed), the token from the environment and from --token, a success and a failure each.
    const env = { HF_TOKEN: TOKEN, HF_HUB_CACHE: cacheDir, IDCLUSTERS_LOG: "debug" };
    const runs = await Promise.all([
      runCli(["pull", "--repo", "me/source", "--hub-url", `${hub.url}/`, "--json"], { env }),
      runCli(["push", "--repo", "me/cli-release", "--folder", folder, "--hub-url", hub.url, "--json"], { env }),
      runCli(["pull", "--repo", "me/source", "--hub-url", hub.url, "--token", WRONG_TOKEN], { env }),
    ]);
    const [pull, push, denied] = runs;
    assert.equal(pull!.code, 0, pull!.stderr);
    assert.match(JSON.parse(pull!.stdout).snapshotPath, /datasets--me--source\/snapshots\/[0-9a-f]{40}$/);
    assert.equal(push!.code, 0, push!.stderr);
    assert.equal(JSON.parse(push!.stdout).committed, true);
    assert.equal(denied!.code, 2, denied!.stderr);
    assert.match(denied!.stderr, /access denied/);
    for (const run of runs) assert.deepEqual(mentions(run.stdout + run.stderr), [], run.stdout + run.stderr);

    assert.deepEqual(mentions(await allFileText(cacheDir)), [], "no cached file holds the token");
  } finally {
    await hub.close();
  }
});
