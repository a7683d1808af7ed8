/**
 * Whether a failed Hub call failed for lack of a usable connection (offline mode, a host that does
 * not resolve or refuses, TLS, timeouts, stalls, dropped connections) rather than by the Hub's
 * answer (401, 404, a bad listing). A caller that can work without the Hub (a local build that
 * only plans against the target) continues on these, and fails on the others.
 */
import { HubOfflineError } from "./hub-offline-error.ts";
import { NetworkFailure } from "./network-failure.ts";

export function isHubUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof NetworkFailure || e instanceof HubOfflineError) return true;
  }
  return false;
}
