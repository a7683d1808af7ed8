/**
 * Git and Git LFS object identities, computed the way the Hub reports them in tree listings
 * (see /work/shared/docs/hub-protocol.md, "Entry values").
 */
import { createHash } from "node:crypto";

/** Files of at least this size are stored with LFS whatever `.gitattributes` says (hub-protocol.md, preupload rule). */
export const LFS_SIZE_THRESHOLD = 10 * 1024 * 1024;

/** `sha1("blob <len>\0" + content)`: the git object id of a regular file. */
export function gitBlobSha1(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

export function sha256Hex(content: Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The pointer file git stores in place of an LFS object. */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

/** An LFS file's tree `oid`: the git blob id of its pointer file (what the Hub's git tree holds). */
export function lfsPointerOid(sha256: string, size: number): string {
  return gitBlobSha1(Buffer.from(lfsPointer(sha256, size), "utf8"));
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}

export function isCommitId(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}
