/**
 * Turns the client's `HubApiError` into our error classes so the CLI exits with the right code:
 * a repo, revision or token the user must fix is a UsageError (2), anything else a RuntimeError (1).
 */
import { HubApiError } from "@huggingface/hub";
import { RuntimeError, UsageError } from "../common/errors.ts";

/** Rethrows `error` as a UsageError/RuntimeError prefixed with `context` ("pull ns/name@main"). */
export function toHubFailure(error: unknown, context: string): Error {
  if (error instanceof UsageError || error instanceof RuntimeError) return error;
  if (error instanceof HubApiError) {
    if (error.statusCode === 404) return new UsageError(`${context}: not found on the Hub (${error.message})`);
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new UsageError(
        `${context}: access denied (status ${error.statusCode}); check the token (--token or HF_TOKEN) ` +
          `and its rights (${error.message})`,
      );
    }
    return new RuntimeError(`${context}: Hub answered status ${error.statusCode} (${error.message})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RuntimeError(`${context}: ${message}`, { cause: error });
}
