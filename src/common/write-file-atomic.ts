/**
 * Writes a whole file so that readers (and a rerun after SIGKILL) see either the old content or
 * the new, never a half-written file: temporary file in the same folder, fsync, rename.
 */
import { mkdir, open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface WriteFileAtomicOptions {
  /**
   * Temporary file name in the same folder; default `<name>.tmp-<pid>`. The embed cache uses
   * `.tmp-<pid>-<name>` so it can recognise and clean up what a killed writer left behind.
   */
  temporaryName?: string;
  /** Also fsync the folder, so the rename itself survives a crash (a cache that reported the file done). */
  syncFolder?: boolean;
}

export async function writeFileAtomic(path: string, content: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temporary = join(folder, options.temporaryName ?? `${basename(path)}.tmp-${process.pid}`);
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  if (options.syncFolder) {
    const folderHandle = await open(folder, "r");
    try {
      await folderHandle.sync();
    } finally {
      await folderHandle.close();
    }
  }
}
