/**
 * Writes a whole file so that readers (and a rerun after SIGKILL) see either the old content or
 * the new, never a half-written file: temporary file in the same folder, fsync, rename.
 */
import { mkdir, open, rename } from "node:fs/promises";
import { dirname } from "node:path";

export async function writeFileAtomic(path: string, content: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
