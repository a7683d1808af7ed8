/**
 * The two hashes the Hub lists per file (shared/docs/hub-protocol.md, "Entry values"): the git blob
 * SHA-1 (`oid` of a regular file) and the SHA-256 of the content (`lfs.oid`). Both read the file
 * as a stream: shards are hundreds of MB.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

/** `sha1("blob <size>\0" + content)`, hex. */
export async function gitBlobSha1OfFile(path: string): Promise<string> {
  const { size } = await stat(path);
  const hash = createHash("sha1").update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** SHA-256 of the content, hex. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Same as `gitBlobSha1OfFile` for bytes in memory. */
export function gitBlobSha1(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}
