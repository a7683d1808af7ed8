/**
 * Turns the client's `HubApiError` into our error classes so the CLI exits with the right code:
 * a repo, revision or token the user must fix is a UsageError (2), anything else a RuntimeError (1).
 * Our own network failures (thrown by the fetch we inject, through the client unchanged) and
 * offline refusals keep their class and get the context prefixed. No message keeps a URL's query
 * string: the client's HubApiError names the full URL, which for LFS uploads is a signed href.
 */
import { HubApiError } from "@huggingface/hub";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { withoutQueries } from "./describe-request.ts";
import { HubOfflineError } from "./hub-offline-error.ts";
import { NetworkFailure, toNetworkFailure } from "./network-failure.ts";

/** Rethrows `error` as a UsageError/RuntimeError prefixed with `context` ("pull ns/name@main"). */
export function toHubFailure(error: unknown, context: string): Error {
  if (error instanceof NetworkFailure || error instanceof HubOfflineError) return error.withContext(context);
  if (error instanceof UsageError || error instanceof RuntimeError) return error;
  if (error instanceof HubApiError) {
    const message = withoutQueries(error.message);
    if (error.statusCode === 404) return new UsageError(`${context}: not found on the Hub (${message})`);
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new UsageError(
        `${context}: access denied (status ${error.statusCode}); check the token (--token or HF_TOKEN) ` +
          `and its rights (${message})`,
      );
    }
    return new RuntimeError(`${context}: Hub answered status ${error.statusCode} (${message})`);
  }
  // A transport error from a fetch that is not ours: at least say what it was.
  const network = toNetworkFailure(error, "", "");
  if (network) return network.withContext(context);
  const message = error instanceof Error ? error.message : String(error);
  return new RuntimeError(`${context}: ${withoutQueries(message)}`, { cause: error });
}
