/**
 * Errors the CLI maps to exit codes. Anything else that escapes a command is a runtime failure (1).
 */

/** A bad flag, a bad config or bad input data the user must fix: exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly exitCode = 2;
}

/** Something failed while doing the work (network, Hub, model, disk): exit code 1. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
  readonly exitCode = 1;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return 2;
  return 1;
}
