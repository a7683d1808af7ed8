import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setLogSink } from "../common/logger.ts";
import { lockWorkDir } from "./work-dir-lock.ts";

test("a second lock on one work dir is refused naming the holder; release frees it", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "lock-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lock = await lockWorkDir({ workDir: dir, command: "run" });
  assert.equal(JSON.parse(await readFile(lock.path, "utf8")).pid, process.pid);
  // Our own pid counts as alive: the same process cannot take it twice either.
  await assert.rejects(lockWorkDir({ workDir: dir, command: "export" }), new RegExp(`in use by pid ${process.pid} \\(idclusters run on `));
  await lock.release();
  assert.ok(!existsSync(lock.path));
  const again = await lockWorkDir({ workDir: dir, command: "export" });
  await again.release();
});

test("a lock whose process is gone is reclaimed; a torn fresh one is not", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "lock-"));
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  t.after(async () => {
    restore();
    await rm(dir, { recursive: true, force: true });
  });
  const path = join(dir, ".lock");
  await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 3, host: hostname(), command: "run", since: "earlier" }));
  const lock = await lockWorkDir({ workDir: dir, command: "run" });
  assert.ok(lines.some((l) => /reclaimed the lock of pid 4194307, which is no longer running/.test(l)), lines.join("\n"));
  await lock.release();
  await writeFile(path, "");
  await assert.rejects(lockWorkDir({ workDir: dir, command: "run" }), /in use by another idclusters process \(lock .* was just created\)/);
  // A holder on another machine cannot be checked: it counts as alive.
  await writeFile(path, JSON.stringify({ pid: 1, host: "elsewhere", command: "run", since: "earlier" }));
  await assert.rejects(lockWorkDir({ workDir: dir, command: "run" }), /is locked by pid 1 on elsewhere \(idclusters run since earlier\), which cannot be checked from .*; if that process is gone, delete/);
  // Our own pid in a lock we do not hold (a container started again with the same pid): stale.
  await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), command: "run", since: "before the restart" }));
  const again = await lockWorkDir({ workDir: dir, command: "run" });
  assert.ok(lines.some((l) => new RegExp(`reclaimed the lock of pid ${process.pid}, which is no longer running`).test(l)), lines.join("\n"));
  await again.release();
});
