/**
 * Remote file paths come from a server's listing; they end up as local paths under the cache, so
 * a hostile or broken listing must not be able to write anywhere else.
 */
import { RuntimeError } from "../common/errors.ts";

/** Why `path` is unsafe as a relative path inside a snapshot, or undefined when it is fine. */
export function unsafeRepoPathReason(path: string): string | undefined {
  if (path === "") return "is empty";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "has a drive letter";
  if (path.includes("\\")) return "contains a backslash";
  if (path.includes("\0")) return "contains a NUL byte";
  const segments = path.split("/");
  if (segments.some((segment) => segment === "")) return "has an empty segment";
  if (segments.some((segment) => segment === "..")) return 'has a ".." segment';
  if (segments.some((segment) => segment === ".")) return 'has a "." segment';
  return undefined;
}

/** Throws a RuntimeError naming the path and the repo when the Hub listed an unsafe path. */
export function assertSafeRepoPath(path: string, where: string): void {
  const reason = unsafeRepoPathReason(path);
  if (reason) {
    throw new RuntimeError(`refusing remote file ${JSON.stringify(path)} in ${where}: the path ${reason}; nothing was written`);
  }
}
