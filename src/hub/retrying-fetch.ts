/**
 * A `fetch` with our retry policy, injected into every `@huggingface/hub` call (the client has no
 * retries of its own: shared/docs/hub-protocol.md, "Rules for every call"). Each attempt goes
 * through `createHubFetch`: offline refusal, timeouts, errors that name host and cause.
 */
import { describeRequest } from "./describe-request.ts";
import { createHubFetch } from "./hub-fetch.ts";
import { RetryableError, parseRetryAfter, withRetries } from "./with-retries.ts";
import type { RetryPolicy } from "./with-retries.ts";

export { describeRequest } from "./describe-request.ts";

export interface CreateRetryingFetchParams {
  /** The fetch to wrap; defaults to the global one. */
  fetch?: typeof fetch;
  policy?: RetryPolicy;
  /** Refuse every request (`HubSettings.offline`); defaults to `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** `HubSettings.etagTimeoutMs`; defaults to `HF_HUB_ETAG_TIMEOUT`. */
  etagTimeoutMs?: number;
  /** `HubSettings.downloadTimeoutMs`; defaults to `HF_HUB_DOWNLOAD_TIMEOUT`. */
  downloadTimeoutMs?: number;
}

/**
 * Statuses worth a retry: request timeout, rate limiting and transient server failures. Other 4xx
 * are the request's fault; 501, 505 and 511 say the server will never serve it.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505 && status !== 511);
}

/** A retryable status answer, kept whole so the last one can still reach the caller. */
class RetryableResponseError extends RetryableError {
  constructor(readonly response: Response) {
    super(`status ${response.status}`, parseRetryAfter(response.headers.get("retry-after")));
  }
}

/**
 * Wraps `fetch`: 408, 429 and 5xx answers and transient network failures are retried with
 * backoff; JSON, text and error bodies are read inside the retry loop, so a connection dropped or
 * stalled mid-body is retried too (the client would otherwise fail in `res.json()`). Binary bodies
 * (downloads) are passed through as streams. Requests with a stream body are tried once: a stream
 * cannot be replayed. When the budget is spent the last answer is returned as is, so the client
 * builds its usual HubApiError; a network failure is thrown as a NetworkFailure.
 */
export function createRetryingFetch(params: CreateRetryingFetchParams = {}): typeof fetch {
  const hubFetch = createHubFetch({
    ...(params.fetch && { fetch: params.fetch }),
    ...(params.offline !== undefined && { offline: params.offline }),
    ...(params.etagTimeoutMs !== undefined && { etagTimeoutMs: params.etagTimeoutMs }),
    ...(params.downloadTimeoutMs !== undefined && { downloadTimeoutMs: params.downloadTimeoutMs }),
  });
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const replayable = !isStreamBody(init?.body) && !(input instanceof Request && input.body !== null);
    try {
      return await withRetries(
        async () => {
          const response = await hubFetch(input instanceof Request ? input.clone() : input, init);
          if (isRetryableStatus(response.status)) throw new RetryableResponseError(await bufferResponse(response));
          return shouldBuffer(response) ? await bufferResponse(response) : response;
        },
        { describe: describeRequest(method, url), policy: params.policy, maxTries: replayable ? undefined : 1 },
      );
    } catch (error) {
      if (error instanceof RetryableResponseError) return error.response;
      throw error;
    }
  };
}

function isStreamBody(body: unknown): boolean {
  return (
    body !== null &&
    typeof body === "object" &&
    (body instanceof ReadableStream || Symbol.asyncIterator in body || typeof (body as { pipe?: unknown }).pipe === "function")
  );
}

function shouldBuffer(response: Response): boolean {
  if (!response.ok) return true;
  const type = response.headers.get("content-type") ?? "";
  return type.includes("json") || type.startsWith("text/");
}

/** Reads the whole body now and returns an equivalent Response (same status, headers and url). */
async function bufferResponse(response: Response): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const noBody = response.status === 204 || response.status === 205 || response.status === 304;
  const copy = new Response(noBody ? null : bytes, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // HubApiError messages name the URL; Response.url is read-only and empty on a constructed one.
  Object.defineProperty(copy, "url", { value: response.url });
  return copy;
}
