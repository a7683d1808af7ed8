import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setLogSink } from "../common/logger.ts";
import { checkReleaseFolder, commitStaging, ownedReleaseFiles, startStaging } from "./release-folder.ts";

test("a release folder is accepted only when new, empty or marked as ours", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "release-folder-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const workDir = join(dir, "work");
  const check = (folder: string) => checkReleaseFolder({ folder, flag: "--out", workDir });
  await check(join(dir, "new"));
  await mkdir(join(dir, "empty"));
  await check(join(dir, "empty"));
  await mkdir(join(dir, "theirs"));
  await writeFile(join(dir, "theirs", "notes.txt"), "x");
  await assert.rejects(check(join(dir, "theirs")), /--out .*theirs: the folder is not empty and was not written by idclusters/);
  await writeFile(join(dir, "file"), "x");
  await assert.rejects(check(join(dir, "file")), /exists and is not a folder/);
  await assert.rejects(check(dir), /holds the work dir/);
  await assert.rejects(check(process.cwd()), /holds the current folder/);
  await assert.rejects(check(join(process.cwd(), "..")), /holds the current folder/);
  // A folder that does not exist yet must not swallow the work dir either.
  await assert.rejects(checkReleaseFolder({ folder: join(dir, "new-out"), flag: "--out", workDir: join(dir, "new-out", "work") }), /holds the work dir/);
});

test("committing a staged release replaces only the files of our previous release", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "release-folder-"));
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  t.after(async () => {
    restore();
    await rm(dir, { recursive: true, force: true });
  });
  const folder = join(dir, "release");
  const stage = async (files: Record<string, string>) => {
    const staging = await startStaging(folder);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(staging, path, ".."), { recursive: true });
      await writeFile(join(staging, path), text);
    }
    await commitStaging({ folder, files: Object.keys(files) });
  };
  await stage({ "data/train-00000-of-00002.parquet": "a", "data/train-00001-of-00002.parquet": "b", "README.md": "v1" });
  assert.deepEqual(await ownedReleaseFiles(folder), ["README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
  await writeFile(join(folder, "data", "mine.txt"), "a user's file");
  await checkReleaseFolder({ folder, flag: "--out", workDir: join(dir, "work") });
  await stage({ "data/train-00000-of-00001.parquet": "c", "README.md": "v2" });
  assert.equal(await readFile(join(folder, "README.md"), "utf8"), "v2");
  assert.ok(!existsSync(join(folder, "data", "train-00001-of-00002.parquet")), "our stale shard is gone");
  assert.equal(await readFile(join(folder, "data", "mine.txt"), "utf8"), "a user's file", "a file we did not write stays");
  assert.ok(!existsSync(join(folder, ".idclusters-staging")));
  assert.ok(lines.some((l) => /1 file\(s\) not written by idclusters are left alone .*data\/mine\.txt/.test(l)), lines.join("\n"));
  // A file we did not write is never replaced: the swap stops before anything moved.
  await writeFile(join(folder, "card-inputs.json"), "a user's file");
  await assert.rejects(stage({ "README.md": "v3", "card-inputs.json": "ours" }), /card-inputs\.json exist\(s\) and were not written by idclusters/);
  assert.equal(await readFile(join(folder, "README.md"), "utf8"), "v2");
  await writeFile(join(folder, ".idclusters-release.json"), "{}");
  await assert.rejects(ownedReleaseFiles(folder), /is not a release marker written by idclusters/);
  // A marker must never lead a deletion out of its folder.
  await writeFile(join(folder, ".idclusters-release.json"), JSON.stringify({ format: "idclusters-release-folder/1", files: ["../outside.txt"] }));
  await assert.rejects(ownedReleaseFiles(folder), /is not a release marker written by idclusters/);
});
