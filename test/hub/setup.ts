/** Shared setup for the Hub layer's integration tests: an emulator in a temp folder, fast retries. */
import { mkdtempSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubEmulator } from "../hub-emulator/index.ts";
import type { HubEmulator } from "../hub-emulator/index.ts";
import { setLogSink } from "../../src/common/logger.ts";

export const TOKEN = "hf_integrationSecretToken0123456789";

/** Retries without real waiting: the behaviour under test is the retrying, not the clock. */
export const FAST_RETRIES = { baseDelayMs: 1, maxDelayMs: 20 };

export async function startEmulator(): Promise<{ hub: HubEmulator; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "idc-hub-"));
  const hub = await startHubEmulator({ storage: join(dir, "storage") });
  return { hub, dir };
}

/** Captures every log line of `fn` (and keeps them off the test output). */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; lines: string[] }> {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    return { value: await fn(), lines };
  } catch (error) {
    return { error, lines };
  } finally {
    restore();
  }
}

/** Every regular file under `dir` (symlinks not followed), as absolute paths. */
export async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return out;
}

/** Concatenated content of every file under `dir`, to search for leaked secrets. */
export async function allFileText(dir: string): Promise<string> {
  const parts = await Promise.all((await allFiles(dir)).map((file) => readFile(file, "latin1")));
  return parts.join("\n");
}

/** Deterministic bytes of a given length (distinct per seed). */
export function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
