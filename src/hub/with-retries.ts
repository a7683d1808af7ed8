/**
 * Bounded retries with exponential backoff and jitter. The Hub client has none (429 and 5xx
 * surface at once, `Retry-After` is ignored: shared/docs/hub-protocol.md, "Rules for every call"),
 * so every Hub call of ours goes through here, directly or through `createRetryingFetch`.
 */
import { log } from "../common/logger.ts";
import { NetworkFailure, toNetworkFailure } from "./network-failure.ts";

export interface RetryPolicy {
  /** Attempts in all, the first one included. Default 6. */
  maxTries?: number;
  /** Give up rather than wait past this many ms after the first attempt started. Default 120 000. */
  maxTotalMs?: number;
  /** Wait before the first retry; doubles on each further retry (plus jitter). Default 500. */
  baseDelayMs?: number;
  /** Upper bound of any single wait, a server's `Retry-After` included. Default 30 000. */
  maxDelayMs?: number;
  /** Replaces `setTimeout` waits (tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Replaces `Math.random` for the jitter (tests). */
  random?: () => number;
}

export const DEFAULT_RETRY_POLICY: Required<Omit<RetryPolicy, "sleep" | "random">> = {
  maxTries: 6,
  maxTotalMs: 120_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

/** A failure worth another try: a 429/5xx answer, a body cut short. */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  constructor(
    /** Short reason for the log line ("status 503", "connection reset"). */
    readonly reason: string,
    /** Server-requested wait (`Retry-After`), in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/**
 * Why `error` deserves another try, or undefined when it does not: a RetryableError (429/5xx), or
 * a transient transport failure (reset, timeout, stall; undici reports those as a bare
 * `TypeError("fetch failed")` with the system error on `cause`). A host that does not resolve,
 * refuses, or fails TLS is not retried: see `toNetworkFailure`.
 */
export function retryReason(error: unknown): { reason: string; retryAfterMs?: number; maxTries?: number } | undefined {
  if (error instanceof RetryableError) {
    return { reason: error.reason, ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }) };
  }
  const failure = toNetworkFailure(error, "", "");
  if (!failure?.transient) return undefined;
  const { maxTries } = failure.details;
  return { reason: failure.reason, ...(maxTries !== undefined && { maxTries }) };
}

export interface WithRetriesParams {
  /** What is being tried, for the log line: method and URL path (`describeRequest`). */
  describe: string;
  policy?: RetryPolicy;
  /**
   * Attempts allowed for this call; defaults to the policy's. 1 for a request whose body is a
   * stream, which cannot be sent twice.
   */
  maxTries?: number;
}

/**
 * Runs `attempt` until it succeeds, retrying what `retryReason` accepts; any other error is thrown
 * at once. When the budget (tries or total time) is spent, the last error is thrown (a
 * NetworkFailure then says how many tries were made).
 */
export async function withRetries<T>(attempt: (tryNumber: number) => Promise<T>, params: WithRetriesParams): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...params.policy };
  const maxTries = Math.max(1, params.maxTries ?? policy.maxTries);
  const sleep = params.policy?.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const random = params.policy?.random ?? Math.random;
  const started = Date.now();

  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      const retry = retryReason(error);
      if (!retry) throw error;
      const allowed = Math.min(maxTries, retry.maxTries ?? Infinity);
      if (tryNumber >= allowed) throw givenUp(error, tryNumber);

      const backoff = policy.baseDelayMs * 2 ** (tryNumber - 1);
      // Full jitter on the upper half: spreads a storm of clients without ever retrying at once.
      const jittered = backoff / 2 + (backoff / 2) * random();
      const waitMs = Math.round(Math.min(policy.maxDelayMs, retry.retryAfterMs ?? jittered));
      if (Date.now() - started + waitMs > policy.maxTotalMs) throw givenUp(error, tryNumber);

      const { reason } = retry;
      log.warn(
        `${params.describe}: ${reason}; retry ${tryNumber}/${allowed - 1} in ${(waitMs / 1000).toFixed(1)} s`,
      );
      await sleep(waitMs);
    }
  }
}

/** The last error, saying how many tries it took when it is one of ours. */
function givenUp(error: unknown, tries: number): unknown {
  return error instanceof NetworkFailure && tries > 1 ? error.withTries(tries) : error;
}

/**
 * `Retry-After` as ms: delay-seconds or an HTTP date (RFC 9110 section 10.2.3). Undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
