/**
 * Bounded retries with exponential backoff and jitter. The Hub client has none (429 and 5xx
 * surface at once, `Retry-After` is ignored: shared/docs/hub-protocol.md, "Rules for every call"),
 * so every Hub call of ours goes through here, directly or through `createRetryingFetch`.
 */
import { log } from "../common/logger.ts";

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

/** A failure worth another try: a 429/5xx answer or a broken connection. */
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

const NETWORK_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * Whether `error` is a transport failure: undici reports a refused/reset connection as
 * `TypeError("fetch failed")` and a socket closed mid-body as `TypeError("terminated")`, with the
 * system error code on `cause`.
 */
export function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_ERROR_CODES.has(code)) return true;
    if (e instanceof TypeError && (e.message === "fetch failed" || e.message === "terminated")) return true;
  }
  return false;
}

function networkErrorReason(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return error instanceof Error ? error.message : "network error";
}

export interface WithRetriesParams {
  /** What is being tried, for the log line: method and redacted URL path. */
  describe: string;
  policy?: RetryPolicy;
  /**
   * Attempts allowed for this call; defaults to the policy's. 1 for a request whose body is a
   * stream, which cannot be sent twice.
   */
  maxTries?: number;
}

/**
 * Runs `attempt` until it succeeds, retrying `RetryableError`s and network errors; any other error
 * is thrown at once. When the budget (tries or total time) is spent, the last error is thrown.
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
      const retryable = error instanceof RetryableError;
      if (!retryable && !isNetworkError(error)) throw error;
      if (tryNumber >= maxTries) throw error;

      const backoff = policy.baseDelayMs * 2 ** (tryNumber - 1);
      // Full jitter on the upper half: spreads a storm of clients without ever retrying at once.
      const jittered = backoff / 2 + (backoff / 2) * random();
      const requested = retryable ? error.retryAfterMs : undefined;
      const waitMs = Math.round(Math.min(policy.maxDelayMs, requested ?? jittered));
      if (Date.now() - started + waitMs > policy.maxTotalMs) throw error;

      const reason = retryable ? error.reason : networkErrorReason(error);
      log.warn(
        `${params.describe}: ${reason}; retry ${tryNumber}/${maxTries - 1} in ${(waitMs / 1000).toFixed(1)} s`,
      );
      await sleep(waitMs);
    }
  }
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
