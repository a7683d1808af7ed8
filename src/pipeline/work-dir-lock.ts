/**
 * One process at a time per work dir (issue #10: two `run`s on one work dir once recorded a
 * release without data as a valid cache). The lock is a file (`<work dir>/.lock` by default),
 * created exclusively and holding the owner's pid and host. A second process stops with a message
 * naming the holder; a lock whose process is gone (SIGKILL, a crash, a reboot, a container started
 * again with the same pid) is reclaimed.
 */
import { hostname } from "node:os";
import { rmSync } from "node:fs";
import { link, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
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
  /** The folder to lock (created when missing). */
  workDir: string;
  /** What holds it, for the other process's message (e.g. "run"). */
  command: string;
  /** Lock file name inside the folder. Default ".lock". */
  name?: string;
  /** What the folder is, for messages. Default "work dir". */
  what?: string;
}

/** Lock files this process holds: its own pid in a lock file it does not hold is a stale lock. */
const held = new Set<string>();

export async function lockWorkDir(params: LockWorkDirParams): Promise<WorkDirLock> {
  await mkdir(params.workDir, { recursive: true });
  const path = join(params.workDir, params.name ?? ".lock");
  const what = params.what ?? "work dir";
  const owner: LockOwner = { pid: process.pid, host: hostname(), command: params.command, since: new Date().toISOString() };
  // Listening before the file exists: a Ctrl-C right after it is created still removes it.
  const guard = guardAgainstExit(path);
  try {
    await takeLock({ path, owner, what, folder: params.workDir });
    return { path, release: guard.release };
  } catch (error) {
    await guard.release(); // removes the file only if it became ours
    throw error;
  }
}

/** Creates the lock file exclusively (reclaiming a stale one), or throws naming its holder. */
async function takeLock(params: { path: string; owner: LockOwner; what: string; folder: string }): Promise<void> {
  const { path, what, folder } = params;
  for (let attempt = 0; attempt < 3; attempt++) {
    // The owner is written to a private file first and then linked to the lock's name (link fails
    // when the name exists): the lock appears with its content, never empty, so a process that is
    // paused or slow right after taking it cannot look like an unreadable, stale lock.
    const pending = `${path}.new-${process.pid}`;
    try {
      const handle = await open(pending, "w");
      try {
        await handle.writeFile(JSON.stringify(params.owner) + "\n");
      } finally {
        await handle.close();
      }
      await link(pending, path);
      held.add(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await rm(pending, { force: true });
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const holder = parseOwner(text);
    // An unreadable lock younger than a few seconds is being written by its owner right now.
    const fresh = !holder && Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) < 5000;
    if (fresh) throw new RuntimeError(`${what} ${folder} is in use by another idclusters process (lock ${path} was just created)`);
    if (holder && holder.host !== hostname()) {
      throw new RuntimeError(
        `${what} ${folder} is locked by pid ${holder.pid} on ${holder.host} (idclusters ${holder.command} since ${holder.since}), ` +
          `which cannot be checked from ${hostname()}; if that process is gone, delete ${path}`,
      );
    }
    if (holder && isAlive(holder, path)) {
      throw new RuntimeError(
        `${what} ${folder} is in use by pid ${holder.pid} (idclusters ${holder.command} on ${holder.host} since ${holder.since}); ` +
          `wait for it to finish, or stop it; its lock is ${path}`,
      );
    }
    await reclaim(path, text);
    log.warn(`${what} ${folder}: reclaimed the lock of ${holder ? `pid ${holder.pid}, which is no longer running` : "an unreadable lock file"}`);
  }
  throw new RuntimeError(`${what} ${folder}: could not take the lock ${path} (other processes keep taking it)`);
}

/**
 * Moves the stale lock aside atomically (one process wins the rename); if what was moved is not
 * the lock judged stale (another process reclaimed it and took the lock meanwhile), it is put back.
 */
async function reclaim(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else moved or removed it: just try again
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

/**
 * Removes the lock file on exit, Ctrl-C and SIGTERM while this process holds it. Ctrl-C and kill end
 * Node without its `exit` event: the handler drops the lock and exits as the signal would have
 * (128 + its number); re-raising the signal from the handler does not work (libuv swallows it).
 */
function guardAgainstExit(path: string): { release(): Promise<void> } {
  const drop = () => {
    if (!held.delete(path)) return;
    try {
      rmSync(path, { force: true });
    } catch {
      // nothing more to do while exiting
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    drop();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  };
  process.once("exit", drop);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stop = () => {
    process.removeListener("exit", drop);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
  return {
    release: async () => {
      stop();
      if (held.delete(path)) await rm(path, { force: true });
    },
  };
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

/** A holder on this host is alive while its pid runs; our own pid only while we hold this very lock. */
function isAlive(owner: LockOwner, path: string): boolean {
  if (owner.pid === process.pid) return held.has(path);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
