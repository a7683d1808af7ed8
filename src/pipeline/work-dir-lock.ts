/**
 * One process at a time per work dir (issue #10: two `run`s on one work dir once recorded a
 * release without data as a valid cache). The lock is `<work dir>/.lock`, created exclusively and
 * holding the owner's pid and host. A second process stops with a message naming the holder; a
 * lock whose process is gone (SIGKILL, a crash, a reboot) is reclaimed.
 */
import { hostname } from "node:os";
import { rmSync } from "node:fs";
import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { RuntimeError } from "../common/errors.ts";
import { log } from "../common/logger.ts";

export interface WorkDirLock {
  /** Path of the lock file. */
  path: string;
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface LockWorkDirParams {
  /** The work dir to lock (created when missing). */
  workDir: string;
  /** What holds it, for the other process's message (e.g. "run"). */
  command: string;
}

export async function lockWorkDir(params: LockWorkDirParams): Promise<WorkDirLock> {
  await mkdir(params.workDir, { recursive: true });
  const path = join(params.workDir, ".lock");
  const owner: LockOwner = { pid: process.pid, host: hostname(), command: params.command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(JSON.stringify(owner) + "\n");
      await handle.close();
      const release = () => rm(path, { force: true });
      // A Ctrl-C or kill ends the process without running `finally` blocks: drop the lock then too.
      const onExit = () => {
        try {
          rmSync(path, { force: true });
        } catch {
          // nothing to do while exiting
        }
      };
      process.once("exit", onExit);
      return {
        path,
        release: async () => {
          process.removeListener("exit", onExit);
          await release();
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const holder = parseOwner(text);
    // An unreadable lock younger than a few seconds is being written by its owner right now.
    const fresh = !holder && Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) < 5000;
    if (fresh) throw new RuntimeError(`work dir ${params.workDir} is in use by another idclusters process (lock ${path} was just created)`);
    if (holder && isAlive(holder)) {
      throw new RuntimeError(
        `work dir ${params.workDir} is in use by pid ${holder.pid} (idclusters ${holder.command} on ${holder.host} since ${holder.since}); ` +
          `wait for it to finish, or stop it; its lock is ${path}`,
      );
    }
    // Reclaim only the lock we judged stale: if another process replaced it meanwhile, keep theirs.
    if ((await readFile(path, "utf8").catch(() => "")) !== text) continue;
    log.warn(`work dir ${params.workDir}: reclaiming the lock of ${holder ? `pid ${holder.pid}, which is no longer running` : "an unreadable lock file"}`);
    await rm(path, { force: true });
  }
  throw new RuntimeError(`work dir ${params.workDir}: could not take the lock ${path} (other processes keep taking it)`);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid === "number" && typeof value.host === "string") return value as LockOwner;
  } catch {
    // an empty or torn lock file: its writer died between create and write
  }
  return undefined;
}

/** A holder on another host cannot be checked: it counts as alive (the lock must then be removed by hand). */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
