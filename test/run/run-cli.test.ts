/**
 * `idclusters run` end to end against the Hub emulator (issue 6, "Judged by"): a source repo laid
 * out like jxie/celeba-hq (Parquet shards with an image struct and a `label`, built here from the
 * fixture faces) and two model repos at pinned revisions.
 *  1. a clean run without --push builds the release folder and prints the plan (repo missing);
 *  2. a run killed with SIGKILL mid-embed, rerun with --push under 10% injected Hub faults,
 *     publishes exactly one commit whose files equal the clean run's byte for byte;
 *  3. `verify repo@main --config` passes; a second run makes no commit;
 *     `verify --against` the published release: adjusted Rand index 1 for the clean run's labels;
 *  4. new images put FIRST in the source (DBSCAN renumbers) keep the old identities' ids with
 *     `id_policy: stable`; `verify --against` v1 then fails on rows that are other images.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pushFolder } from "../../src/hub/index.ts";
import { sha256OfFile } from "../../src/common/file-hashes.ts";
import { readNpy } from "../../src/common/npy.ts";
import { readReleaseRows } from "../../src/release/index.ts";
import { FAST_RETRIES, TOKEN, captureLogs, startEmulator } from "../hub/setup.ts";
import { makeImageParquet } from "../support/make-image-parquet.ts";
import { CLI_PATH, runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const PEOPLE = ["amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart"];

test("idclusters run: plan, SIGKILL + faults + push, verify, no-op rerun, stable ids", { skip: !existsSync(FACES) && "../shared/fixtures missing", timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-run-"));
  const { hub } = await startEmulator();
  t.after(async () => {
    hub.setFaults(null);
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  const face = (person: string, n: number) => readFile(join(FACES, person, `${person}${n}.png`));
  const shardRows = async (pairs: [string, number][]) =>
    Promise.all(pairs.map(async ([person, n]) => ({ bytes: await face(person, n), path: `${person}${n}.png`, label: PEOPLE.indexOf(person) % 2 })));

  // Source v1: images 1-4 of every person, in two shards.
  const sourceDir = join(dir, "source");
  const writeSource = async (shards: [string, number][][]) => {
    await rm(sourceDir, { recursive: true, force: true });
    for (const [i, pairs] of shards.entries()) {
      await makeImageParquet({ rows: await shardRows(pairs), file: join(sourceDir, "data", `train-${String(i).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.parquet`) });
    }
    const { value: pushed, error } = await captureLogs(() =>
      pushFolder({ repo: "jxie/celeba-hq", folder: sourceDir, deleteGlobs: ["data/**"], hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES, message: "source" }),
    );
    if (error) throw error;
    return pushed!.commitOid;
  };
  const first = PEOPLE.slice(0, 4).flatMap((p) => [1, 2, 3, 4].map((n) => [p, n] as [string, number]));
  const second = PEOPLE.slice(4).flatMap((p) => [1, 2, 3, 4].map((n) => [p, n] as [string, number]));
  const sourceV1 = await writeSource([first, second]);
  const detectorRev = await hub.seed({ repo: "opencv/face_detection_yunet", type: "model", files: { "yunet_n_dynamic.onnx": await readFile(join(MODELS, "yunet_n_dynamic.onnx")) } });
  const recognizerRev = await hub.seed({ repo: "me/mobilefacenet", type: "model", files: { "mobilefacenet_arcface_512.onnx": await readFile(join(MODELS, "mobilefacenet_arcface_512.onnx")) } });

  const writeConfig = async (sourceRevision: string) => {
    const file = join(dir, "config.yaml");
    await writeFile(
      file,
      `name: run_test
source: { repo: jxie/celeba-hq, revision: ${sourceRevision}, split: train, image_column: image, pass_through: [label] }
models:
  detector: { kind: yunet, repo: opencv/face_detection_yunet, file: yunet_n_dynamic.onnx, revision: ${detectorRev}, license: MIT, input_size: 320, score_threshold: 0.5 }
  recognizer: { repo: me/mobilefacenet, file: mobilefacenet_arcface_512.onnx, revision: ${recognizerRev}, license: MIT, mean: 127.5, std: 127.5 }
faces: { device: cpu, batch_size: 4 }
images: { transform: keep }
clustering: { eps: 0.5, min_samples: 2, noise: singleton, id_policy: stable }
release: { target: me/faces, row_group_size: 10, max_shard_size: 300KB }
`,
    );
    return file;
  };
  let config = await writeConfig(sourceV1);
  const cacheDir = join(dir, "hf-cache");
  const common = (workDir: string) => ["--config", config, "--hub-url", hub.url, "--cache-dir", cacheDir, "--work-dir", workDir, "--decode-workers", "0"];

  // 1. Clean run without a token: release folder and plan, nothing pushed.
  const clean = join(dir, "work-clean");
  const planned = await runCli(["run", ...common(clean), "--json"]);
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout);
  assert.equal(plan.notPushed, "no --push");
  assert.equal(plan.plan.repoMissing, true);
  assert.ok(plan.plan.added.includes("README.md") && plan.plan.added.some((p: string) => p.startsWith("data/train-")), plan.plan.added.join());
  assert.equal(plan.plan.rows.current, 32);
  assert.equal(plan.plan.identities.current, 8, "the 8 people of the fixtures");

  // 2. Killed mid-embed, then rerun with --push under 10% Hub faults: exactly one commit.
  const work = join(dir, "work");
  const batches = async () => {
    const base = join(work, "cache", "embed");
    if (!existsSync(base)) return 0;
    let n = 0;
    for (const sub of await readdir(base)) n += (await readdir(join(base, sub)).catch(() => [] as string[])).filter((f) => f.startsWith("batch-")).length;
    return n;
  };
  const child = spawn(process.execPath, [CLI_PATH, "run", ...common(work)], { stdio: "ignore", env: { ...process.env, HF_TOKEN: TOKEN } });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  for (let waited = 0; (await batches()) < 1 && child.exitCode === null; waited += 20) {
    if (waited > 120_000) throw new Error("no embed batch stored within 120 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL", "killed before the run finished");
  assert.ok(!existsSync(join(work, "release")), "no release folder before the end");
  const before = (await hub.commits("me/faces").catch(() => [])).length;
  hub.setFaults({ rate: 0.1, kinds: ["429", "503", "drop"], seed: 7 });
  const pushed = await runCli(["run", ...common(work), "--push", "--tag", "v1", "--json"], { env: { HF_TOKEN: TOKEN } });
  hub.setFaults(null);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.ok(!pushed.stderr.includes(TOKEN));
  const published = JSON.parse(pushed.stdout);
  assert.equal(published.published.committed, true);
  const commits = await hub.commits("me/faces");
  const created = before === 0 ? commits.length - 1 : commits.length - before; // createRepo's initial commit
  assert.equal(created, 1, commits.map((c) => c.title).join(" | "));
  const remote = await hub.files("me/faces", "main");
  const cleanRelease = join(clean, "release");
  // Every file of the release (the folder's ownership marker is bookkeeping, never published).
  const localFiles = (await readdir(cleanRelease, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name !== ".idclusters-release.json");
  for (const e of localFiles) {
    const path = join(e.parentPath, e.name).slice(cleanRelease.length + 1);
    assert.equal(remote[path]?.sha256, await sha256OfFile(join(cleanRelease, path)), `${path}: published = clean run's`);
  }

  // 3. verify passes on the published repo; an unchanged rerun commits nothing.
  const verified = await runCli(["verify", "me/faces@v1", "--config", config, "--hub-url", hub.url, "--cache-dir", cacheDir, "--work-dir", work]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const against = await runCli(["verify", cleanRelease, "--against", "me/faces@v1", "--hub-url", hub.url, "--cache-dir", cacheDir, "--json"]);
  assert.equal(against.code, 0, against.stdout + against.stderr);
  assert.match(against.stderr, /adjusted Rand index 1, 0 differing row\(s\) of 32/);
  const again = await runCli(["run", ...common(work), "--push", "--json"], { env: { HF_TOKEN: TOKEN } });
  assert.equal(again.code, 0, again.stderr);
  const noop = JSON.parse(again.stdout);
  assert.equal(noop.published.committed, false);
  assert.deepEqual(noop.stages, { embed: "cached", cluster: "cached", ids: "cached", export: "cached" });
  assert.equal((await hub.commits("me/faces")).length, commits.length);
  const dry = await runCli(["run", ...common(work), "--push", "--dry-run"], { env: { HF_TOKEN: TOKEN } });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /rows: 32 -> 32\nidentities: 8 -> 8\ncard: unchanged\nnot pushed: --dry-run\n$/);

  // 4. Someone adds a note to the card on the Hub; then image 5 of every person comes FIRST in the
  // source: DBSCAN numbers clusters anew, ids stay, the note stays.
  const v1Card = new TextDecoder().decode(await hub.readFile("me/faces", "main", "README.md"));
  const editCommit = await hub.seed({ repo: "me/faces", files: { "README.md": v1Card + "\nA note written on the Hub.\n" }, message: "note" });
  const fifth = PEOPLE.slice().reverse().map((p) => [p, 5] as [string, number]);
  config = await writeConfig(await writeSource([fifth, first, second]));
  const updated = await runCli(["run", ...common(work), "--push", "--tag", "v2", "--json"], { env: { HF_TOKEN: TOKEN } });
  assert.equal(updated.code, 0, updated.stderr);
  const v2 = JSON.parse(updated.stdout);
  assert.equal(v2.published.committed, true);
  assert.equal(v2.plan.rows.previous, 32);
  assert.equal(v2.plan.rows.current, 40);
  assert.equal(v2.plan.previousCommit, editCommit);
  assert.deepEqual([v2.plan.card.header, v2.plan.card.handWritten], [true, false]);
  assert.ok(["summary", "provenance"].every((b) => v2.plan.card.blocks.includes(b)), v2.plan.card.blocks.join());
  assert.deepEqual(v2.plan.card.numExamples, { previous: 32, current: 40 });
  assert.deepEqual({ ...v2.plan.changelog }, { kept: 8, fresh: 0, retired: 0, merges: [], splits: [] });
  const oldRows = await readReleaseRows({ folder: cleanRelease, split: "train" });
  const newRows = await readReleaseRows({ folder: join(work, "release"), split: "train" });
  const newIdOf = new Map(newRows.keys.map((k, i) => [k, newRows.ids[i]]));
  oldRows.keys.forEach((key, i) => assert.equal(newIdOf.get(key), oldRows.ids[i], `row ${oldRows.fileNames[i]} keeps its id`));
  const sklearn = readNpy(join(work, "labels-sklearn.npy")).data as BigInt64Array;
  const stable = readNpy(join(work, "labels.npy")).data as BigInt64Array;
  assert.notDeepEqual([...sklearn], [...stable], "DBSCAN's own numbering changed, so the mapping did something");
  const moved = await runCli(["verify", join(work, "release"), "--against", "me/faces@v1", "--hub-url", hub.url, "--cache-dir", cacheDir, "--json"]);
  assert.equal(moved.code, 1, "40 rows, new ones first: not the rows of v1");
  assert.ok(JSON.parse(moved.stdout).problems.some((p: string) => /^row 0: not the same image as in me\/faces@v1/.test(p)), moved.stdout);
  // Rerun on our own v2 head: still based on v1 (same card, same ids), so no commit.
  const v2Again = await runCli(["run", ...common(work), "--push", "--json"], { env: { HF_TOKEN: TOKEN } });
  assert.equal(v2Again.code, 0, v2Again.stderr);
  const v2Noop = JSON.parse(v2Again.stdout);
  assert.equal(v2Noop.published.committed, false);
  assert.equal(v2Noop.plan.previousCommit, editCommit);
  assert.equal(v2Noop.stages.export, "cached");
  const card = new TextDecoder().decode(await hub.readFile("me/faces", "v2", "README.md"));
  assert.match(card, new RegExp(`Previous release: commit \`${editCommit}\``));
  assert.match(card, /\nA note written on the Hub\.\n/, "the hand-written note survives the update");
  assert.match(card, /8 identities kept their id, 0 got a new id/);
});
