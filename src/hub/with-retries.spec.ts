import { test } from "node:test";
import assert from "node:assert/strict";
import { setLogSink } from "../common/logger.ts";
import { NetworkFailure } from "./network-failure.ts";
import { RetryableError, parseRetryAfter, retryReason, withRetries } from "./with-retries.ts";

function recorder() {
  const waits: number[] = [];
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  const policy = { baseDelayMs: 100, sleep: async (ms: number) => void waits.push(ms), random: () => 1 };
  return { waits, lines, restore, policy };
}

test("retries retryable failures with doubling waits and logs each retry once", async () => {
  const { waits, lines, restore, policy } = recorder();
  try {
    let calls = 0;
    const value = await withRetries(
      async () => {
        calls++;
        if (calls < 4) throw new RetryableError("status 503");
        return "ok";
      },
      { describe: "GET /api/x", policy },
    );
    assert.equal(value, "ok");
    assert.equal(calls, 4);
    assert.deepEqual(waits, [100, 200, 400]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^warning: GET \/api\/x: status 503; retry 1\/5 in 0\.1 s$/);
  } finally {
    restore();
  }
});

test("Retry-After wins over the backoff but is capped by maxDelayMs", async () => {
  const { waits, restore, policy } = recorder();
  try {
    let calls = 0;
    await withRetries(
      async () => {
        calls++;
        if (calls === 1) throw new RetryableError("status 429", 2_000);
        if (calls === 2) throw new RetryableError("status 429", 3_600_000);
        return 1;
      },
      { describe: "GET /x", policy: { ...policy, maxDelayMs: 5_000 } },
    );
    assert.deepEqual(waits, [2_000, 5_000]);
  } finally {
    restore();
  }
});

test("gives up after maxTries with the last error, and at once on other errors", async () => {
  const { restore, policy } = recorder();
  try {
    let calls = 0;
    await assert.rejects(
      withRetries(
        async () => {
          calls++;
          throw new RetryableError(`status 500 #${calls}`);
        },
        { describe: "GET /x", policy: { ...policy, maxTries: 3 } },
      ),
      /status 500 #3/,
    );
    assert.equal(calls, 3);

    calls = 0;
    await assert.rejects(
      withRetries(
        async () => {
          calls++;
          throw new RangeError("bug");
        },
        { describe: "GET /x", policy },
      ),
      RangeError,
    );
    assert.equal(calls, 1);
  } finally {
    restore();
  }
});

test("gives up when the next wait would pass the total time budget", async () => {
  const { restore, policy } = recorder();
  try {
    let calls = 0;
    await assert.rejects(
      withRetries(
        async () => {
          calls++;
          throw new RetryableError("status 429", 10_000);
        },
        { describe: "GET /x", policy: { ...policy, maxTotalMs: 5_000 } },
      ),
      /status 429/,
    );
    assert.equal(calls, 1);
  } finally {
    restore();
  }
});

test("transient transport errors are retried, through undici's cause chain; permanent ones and other errors are not", () => {
  const undici = (code: string, message = "x") => new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
  assert.match(retryReason(undici("ECONNRESET"))!.reason, /ECONNRESET/);
  assert.ok(retryReason(new TypeError("terminated", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) })));
  assert.ok(retryReason(Object.assign(new Error("read"), { code: "ECONNRESET" })));
  assert.equal(retryReason(undici("EAI_AGAIN"))!.maxTries, 2);
  for (const code of ["ENOTFOUND", "EAI_NONAME", "ECONNREFUSED", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "ERR_SSL_WRONG_VERSION_NUMBER"]) {
    assert.equal(retryReason(undici(code)), undefined, code);
  }
  assert.equal(retryReason(new TypeError("fetch failed", { cause: new Error("bad port") })), undefined);
  assert.equal(retryReason(Object.assign(new Error("open"), { code: "ENOENT" })), undefined, "a disk error is no network error");
  assert.equal(retryReason(new TypeError("x is not a function")), undefined);
  assert.equal(retryReason(new DOMException("aborted", "AbortError")), undefined);
  assert.equal(retryReason(new Error("status 404")), undefined);
});

test("a doubtful failure (EAI_AGAIN) gets one retry, and the final error says how many tries were made", async () => {
  const { lines, restore, policy } = recorder();
  try {
    let calls = 0;
    const failure = new NetworkFailure({ request: "GET https://h/x", kind: "dns-temporary", reason: "temporary DNS failure resolving h (EAI_AGAIN)", transient: true, maxTries: 2 });
    await assert.rejects(
      withRetries(
        async () => {
          calls++;
          throw failure;
        },
        { describe: "GET https://h/x", policy },
      ),
      (error: unknown) => error instanceof NetworkFailure && /^GET https:\/\/h\/x: temporary DNS failure resolving h \(EAI_AGAIN\) \(gave up after 2 tries\)$/.test(error.message),
    );
    assert.equal(calls, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /EAI_AGAIN\); retry 1\/1 in/);
  } finally {
    restore();
  }
});

test("Retry-After accepts seconds and HTTP dates", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("0.05", now), 50);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:07 GMT", now), 7000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});

test("a body cut off without a system code ('terminated' alone) is still worth a retry", () => {
  assert.match(retryReason(new TypeError("terminated"))!.reason, /lost: the body was cut off/);
});
