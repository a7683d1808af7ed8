/**
 * Stage caching for `idclusters run`: each stage's outputs in the work directory carry a manifest
 * (`<work dir>/stages/<stage>.json`) holding the hash of the stage's inputs (config subset, upstream
 * output hashes, model SHA-256s, tool version) and the SHA-256 of every output file. A rerun skips a
 * stage whose input hash matches and whose outputs are still on disk with the recorded hashes.
 * Everything is written to a temporary file and renamed, so a SIGKILL leaves either the old or the
 * new file, never half of one; a manifest is written only after its outputs, so a killed stage
 * simply runs again.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { sha256OfFile } from "../common/file-hashes.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";
import { canonicalJson } from "../common/canonical-json.ts";

export interface StageManifest<Extra = unknown> {
  /** SHA-256 of the canonical JSON of the stage's inputs. */
  inputHash: string;
  /** Output path (relative to the work directory) -> SHA-256. */
  outputs: Record<string, string>;
  /**
   * Output path -> [size, mtimeMs] when it was hashed. A file whose size and mtime still match is
   * trusted without rehashing (git's stat cache): an unchanged 28k-image release is GBs to hash.
   */
  stats?: Record<string, [number, number]>;
  /** Stage-specific values a skipped stage must still hand on (previous commit, changelog). */
  extra?: Extra;
}

/** JSON with object keys sorted and bigints as strings: the same inputs always hash the same. */
export { canonicalJson };

export function hashInputs(inputs: unknown): string {
  return createHash("sha256").update(canonicalJson(inputs)).digest("hex");
}

export { writeFileAtomic };

/** What a step did: ran, or found its outputs valid for its inputs and skipped. */
export type StageOutcome = "ran" | "cached";

export function manifestPath(workDir: string, stage: string): string {
  return join(workDir, "stages", `${stage}.json`);
}

export async function readManifest<Extra>(workDir: string, stage: string): Promise<StageManifest<Extra> | undefined> {
  try {
    return JSON.parse(await readFile(manifestPath(workDir, stage), "utf8")) as StageManifest<Extra>;
  } catch {
    return undefined;
  }
}

/** SHA-256, size and mtime of each file, keyed by its path relative to `root`. */
export async function hashOutputs(root: string, relativePaths: string[]): Promise<Pick<StageManifest, "outputs" | "stats">> {
  const outputs: Record<string, string> = {};
  const stats: Record<string, [number, number]> = {};
  for (const path of [...relativePaths].sort()) {
    const info = await stat(join(root, path));
    outputs[path] = await sha256OfFile(join(root, path));
    stats[path] = [info.size, info.mtimeMs];
  }
  return { outputs, stats };
}

/**
 * The manifest of `stage` when it is still valid for `inputHash`: same input hash, and every
 * recorded output present under `root` with its recorded SHA-256. Undefined means "run the stage".
 */
export async function validManifest<Extra>(params: {
  workDir: string;
  stage: string;
  inputHash: string;
  /** Folder the manifest's output paths are relative to (default: the work directory). */
  root?: string;
}): Promise<StageManifest<Extra> | undefined> {
  const manifest = await readManifest<Extra>(params.workDir, params.stage);
  if (!manifest || manifest.inputHash !== params.inputHash) return undefined;
  const root = params.root ?? params.workDir;
  for (const [path, sha256] of Object.entries(manifest.outputs)) {
    const full = join(root, path);
    if (!existsSync(full)) return undefined;
    const info = await stat(full);
    const recorded = manifest.stats?.[path];
    if (recorded && recorded[0] === info.size && recorded[1] === info.mtimeMs) continue;
    if ((await sha256OfFile(full)) !== sha256) return undefined;
  }
  return manifest;
}

export async function writeManifest<Extra>(workDir: string, stage: string, manifest: StageManifest<Extra>): Promise<void> {
  await writeFileAtomic(manifestPath(workDir, stage), JSON.stringify(manifest, null, 2) + "\n");
}
