/**
 * The one place where a Hub request leaves the process, one attempt at a time (retries are
 * `createRetryingFetch`'s and `downloadBlob`'s job):
 * - offline mode (`HF_HUB_OFFLINE`) refuses every request, so a code path that forgot to check
 *   still makes none;
 * - every wait is bounded, like the Python client's timeouts (a server that takes the connection
 *   and never answers used to mean 300 s of silence, undici's own default):
 *   - no request body: response headers within `HF_HUB_ETAG_TIMEOUT` (API calls) or
 *     `HF_HUB_DOWNLOAD_TIMEOUT` (file downloads, as Python's download GET);
 *   - a Blob or stream request body (LFS uploads): while it is sent, the connection must take data
 *     at least every `HF_HUB_DOWNLOAD_TIMEOUT`; once all of it is handed over, headers within
 *     `WRITE_ANSWER_FACTOR` x `HF_HUB_ETAG_TIMEOUT` (60 s by default: the Hub builds a commit
 *     before answering, and the last MBs may still sit in socket buffers). Other bodies (JSON,
 *     NDJSON strings) are sent at once: the same bound, counted from the start;
 *   - a response body may go no longer than `HF_HUB_DOWNLOAD_TIMEOUT` without a byte, counted only
 *     while its reader waits for the network (a slow consumer is not a stalled server);
 * - transport failures become `NetworkFailure`s naming the request and the cause, never a bare
 *   "fetch failed".
 */
import { describeRequestWithHost } from "./describe-request.ts";
import { HubOfflineError } from "./hub-offline-error.ts";
import { resolveNetworkSettings } from "./hub-network-settings.ts";
import { NetworkFailure, toNetworkFailure } from "./network-failure.ts";
import type { NetworkFailureKind } from "./network-failure.ts";

/** Headers bound after a request body, as a multiple of `HF_HUB_ETAG_TIMEOUT`. */
export const WRITE_ANSWER_FACTOR = 6;

export interface CreateHubFetchParams {
  /** The fetch to wrap; defaults to the global one. */
  fetch?: typeof fetch;
  /** Refuse every request; defaults to `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Headers bound of API calls, ms; defaults to `HF_HUB_ETAG_TIMEOUT`. */
  etagTimeoutMs?: number;
  /** Longest silence of a transfer (and headers bound of downloads), ms; defaults to `HF_HUB_DOWNLOAD_TIMEOUT`. */
  downloadTimeoutMs?: number;
  /** "download" when the requests fetch file content: their headers wait is the download timeout. Default "api". */
  purpose?: "api" | "download";
}

export function createHubFetch(params: CreateHubFetchParams = {}): typeof fetch {
  const settings = resolveNetworkSettings({
    ...(params.offline !== undefined && { offline: params.offline }),
    ...(params.etagTimeoutMs !== undefined && { etagTimeoutMs: params.etagTimeoutMs }),
    ...(params.downloadTimeoutMs !== undefined && { downloadTimeoutMs: params.downloadTimeoutMs }),
  });
  const baseFetch = params.fetch ?? fetch;
  const download = params.purpose === "download";
  const headersMs = download ? settings.downloadTimeoutMs : settings.etagTimeoutMs;
  const headersVariable = download ? "HF_HUB_DOWNLOAD_TIMEOUT" : "HF_HUB_ETAG_TIMEOUT";
  const writeAnswerMs = WRITE_ANSWER_FACTOR * settings.etagTimeoutMs;
  const idleMs = settings.downloadTimeoutMs;

  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const request = describeRequestWithHost(method, url);
    if (settings.offline) throw new HubOfflineError(request);
    const host = hostOf(url);

    const controller = new AbortController();
    const callerSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
    let failure: NetworkFailure | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Set once the headers came (or the attempt failed): a body still being read by undici after
    // an early answer (a 413, say) must not arm a new timer.
    let answered = false;
    const arm = (ms: number, kind: NetworkFailureKind, reason: string) => {
      if (answered) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        failure = new NetworkFailure({ request, kind, reason, transient: true });
        controller.abort(failure);
      }, ms);
    };
    const awaitAnswer = (ms: number, rule: string) => arm(ms, "no-answer", `no answer from ${host} within ${seconds(ms)}${rule}`);
    const uploadProgress = () =>
      arm(idleMs, "stalled", `stalled: ${host} took no request data for ${seconds(idleMs)} (HF_HUB_DOWNLOAD_TIMEOUT)`);
    const bodySent = () =>
      awaitAnswer(writeAnswerMs, ` after the request body was sent (${WRITE_ANSWER_FACTOR} x HF_HUB_ETAG_TIMEOUT)`);

    const body = init?.body;
    let sent: unknown = body;
    if (body === undefined || body === null) {
      if (input instanceof Request && input.body !== null) bodySent();
      else awaitAnswer(headersMs, ` (${headersVariable})`);
    } else if (body instanceof Blob) {
      sent = observedBlob(body, uploadProgress, bodySent);
      uploadProgress();
    } else if (body instanceof ReadableStream) {
      sent = observedStream(body as ReadableStream<Uint8Array>, uploadProgress, bodySent);
      uploadProgress();
    } else {
      bodySent();
    }

    let response: Response;
    try {
      response = await baseFetch(input, { ...init, ...(sent !== body && { body: sent as RequestInit["body"] }), signal });
    } catch (error) {
      throw failure ?? (callerSignal?.aborted ? error : (toNetworkFailure(error, request, url) ?? error));
    } finally {
      answered = true;
      clearTimeout(timer);
    }
    return watchedBody(response, idleMs, (error) => {
      if (error === "stalled") {
        failure = new NetworkFailure({
          request,
          kind: "stalled",
          reason: `stalled: no data for ${seconds(idleMs)} from ${host} (HF_HUB_DOWNLOAD_TIMEOUT)`,
          transient: true,
        });
        controller.abort(failure);
        return failure;
      }
      return failure ?? (callerSignal?.aborted ? error : (toNetworkFailure(error, request, url) ?? error));
    });
  };
}

/**
 * `response` with a body that fails (through `fail`) when a read waits longer than `idleMs`.
 * `fail` gets "stalled" for a timeout, else the read's own error, and returns what to report.
 */
function watchedBody(response: Response, idleMs: number, fail: (error: unknown) => unknown): Response {
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(fail("stalled")), idleMs);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), stalled]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          const reported = error instanceof NetworkFailure ? error : fail(error);
          reader.cancel(reported).catch(() => {});
          controller.error(reported);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const watched = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // Read-only on a constructed Response; HubApiError messages and redirect checks read them.
  Object.defineProperty(watched, "url", { value: response.url });
  Object.defineProperty(watched, "redirected", { value: response.redirected });
  return watched;
}

/**
 * A stand-in for `blob` that undici sends the same way (it takes `size` for Content-Length and
 * reads `stream()`), reporting each chunk the connection takes and the end of the body.
 */
function observedBlob(blob: Blob, onChunk: () => void, onEnd: () => void): Blob {
  const observed = {
    size: blob.size,
    type: blob.type,
    [Symbol.toStringTag]: "Blob",
    stream: () => observedStream(blob.stream(), onChunk, onEnd),
    // Not how fetch sends a Blob (it streams it), but a sender reading it whole has handed it over.
    arrayBuffer: async () => {
      const bytes = await blob.arrayBuffer();
      onEnd();
      return bytes;
    },
    text: () => blob.text(),
    slice: (start?: number, end?: number, type?: string) => blob.slice(start, end, type),
  };
  return observed as unknown as Blob;
}

/** Pull-through copy of `source`: one chunk per read of the connection, so its pace is the socket's. */
function observedStream(source: ReadableStream<Uint8Array>, onChunk: () => void, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          onEnd();
        } else {
          controller.enqueue(value);
          onChunk();
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the server";
  }
}

/** 10000 -> "10 s", 300 -> "0.3 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
