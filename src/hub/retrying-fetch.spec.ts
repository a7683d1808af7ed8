import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setLogSink } from "../common/logger.ts";
import { NetworkFailure } from "./network-failure.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return { url, host: url.slice("http://".length), count: () => n, close };
}

// Each test has a timeout: a regression must fail, not hang on a server that never answers.
const fast = { baseDelayMs: 1, sleep: async () => {} };
/** Short timeouts, and offline off whatever the environment says. */
const network = { offline: false, etagTimeoutMs: 300, downloadTimeoutMs: 300 };

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = setLogSink(() => {});
  return fn().finally(restore);
}

test("503 and 429 answers are retried until the real answer comes", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res, n) => {
    if (n === 1) res.writeHead(503, { "content-type": "application/json" }).end('{"error":"busy"}');
    else if (n === 2) res.writeHead(429, { "retry-after": "0" }).end();
    else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  try {
    const retrying = createRetryingFetch({ policy: fast, ...network });
    const response = await quietly(() => retrying(`${server.url}/api/x?secret=1`));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal(response.url, `${server.url}/api/x?secret=1`);
    assert.equal(server.count(), 3);
  } finally {
    await server.close();
  }
});

test("a JSON body cut off mid-way is retried (read inside the retry loop)", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res, n) => {
    const whole = JSON.stringify({ whole: "x".repeat(26) });
    res.writeHead(200, { "content-type": "application/json", "content-length": String(whole.length) });
    if (n === 1) {
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 10);
    } else res.end(whole);
  });
  try {
    const lines: string[] = [];
    const restore = setLogSink((line) => lines.push(line));
    const response = await createRetryingFetch({ policy: fast, ...network })(`${server.url}/api/tree?x=1`).finally(restore);
    assert.deepEqual(await response.json(), { whole: "x".repeat(26) });
    assert.equal(server.count(), 2);
    assert.equal(lines.length, 1);
    // The log names method and path, never the query string; the cause names the host.
    assert.match(lines[0]!, /GET \/api\/tree: connection to 127\.0\.0\.1:\d+ lost/);
    assert.ok(!lines[0]!.includes("x=1"));
  } finally {
    await server.close();
  }
});

test("when the tries are spent the last error answer is returned for the client to report", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"down"}'));
  try {
    const response = await quietly(() => createRetryingFetch({ policy: { ...fast, maxTries: 3 }, ...network })(`${server.url}/x`));
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { error: "down" });
    assert.equal(server.count(), 3);
  } finally {
    await server.close();
  }
});

test("a request with a stream body is sent once (a stream cannot be replayed); a string body is replayed", { timeout: 10_000 }, async () => {
  const bodies: string[] = [];
  const server = await serve((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(503).end();
    });
  });
  try {
    const retrying = createRetryingFetch({ policy: { ...fast, maxTries: 3 }, ...network });
    const stream = new Blob(["streamed"]).stream();
    const once = await quietly(() =>
      retrying(`${server.url}/x`, { method: "POST", body: stream, duplex: "half" } as RequestInit),
    );
    assert.equal(once.status, 503);
    assert.deepEqual(bodies, ["streamed"]);
    await quietly(() => retrying(`${server.url}/x`, { method: "POST", body: "text" }));
    assert.deepEqual(bodies, ["streamed", "text", "text", "text"]);
  } finally {
    await server.close();
  }
});

test("a refused connection is not retried: thrown at once, naming host and ECONNREFUSED", { timeout: 10_000 }, async () => {
  const server = await serve(() => {});
  await server.close();
  let tries = 0;
  const counting: typeof fetch = (input, init) => {
    tries++;
    return fetch(input, init);
  };
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    await assert.rejects(
      createRetryingFetch({ fetch: counting, policy: fast, ...network })(`${server.url}/api/x?sig=1`),
      (error: unknown) =>
        error instanceof NetworkFailure &&
        error.message === `GET ${server.url}/api/x: connection refused by ${server.host}: nothing listens there (ECONNREFUSED)`,
    );
    assert.equal(tries, 1);
    assert.deepEqual(lines, []);
  } finally {
    restore();
  }
});

test("a host that does not resolve is not retried (a doubtful EAI_AGAIN once at most)", { timeout: 10_000 }, async () => {
  let tries = 0;
  const counting: typeof fetch = (input, init) => {
    tries++;
    return fetch(input, init);
  };
  const started = Date.now();
  const error = await quietly(() => createRetryingFetch({ fetch: counting, policy: fast, ...network })("https://hub.invalid/api/whoami-v2").catch((e: unknown) => e));
  assert.ok(error instanceof NetworkFailure);
  assert.match(error.message, /^GET https:\/\/hub\.invalid\/api\/whoami-v2: (cannot resolve host|temporary DNS failure resolving) hub\.invalid /);
  assert.ok(!error.message.includes("fetch failed"));
  assert.equal(tries, error.kind === "dns-temporary" ? 2 : 1);
  assert.ok(Date.now() - started < 3000);
});

test("4xx answers other than 408/429 are not retried; 408 is", { timeout: 10_000 }, async () => {
  let timeouts = 0;
  const server = await serve((req, res) => {
    if (req.url === "/408" && timeouts++ === 0) res.writeHead(408).end();
    else if (req.url === "/408") res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    else res.writeHead(Number(req.url!.slice(1)), { "content-type": "application/json" }).end('{"error":"no"}');
  });
  try {
    const retrying = createRetryingFetch({ policy: fast, ...network });
    for (const status of [400, 401, 403, 404, 409, 412, 422]) {
      const before = server.count();
      assert.equal((await retrying(`${server.url}/${status}`)).status, status);
      assert.equal(server.count() - before, 1, `status ${status} tried once`);
    }
    const before = server.count();
    await quietly(async () => {
      const response = await retrying(`${server.url}/408`);
      assert.equal(response.status, 200);
    });
    assert.equal(server.count() - before, 2, "408 then the answer");
  } finally {
    await server.close();
  }
});

test("a server that never answers is retried with timeouts; the final error names host, timeout and tries", { timeout: 10_000 }, async () => {
  const server = await serve(() => {});
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  const started = Date.now();
  try {
    await assert.rejects(
      createRetryingFetch({ policy: { ...fast, maxTries: 2 }, ...network })(`${server.url}/api/datasets/a/b`),
      (error: unknown) =>
        error instanceof NetworkFailure &&
        error.message ===
          `GET ${server.url}/api/datasets/a/b: no answer from ${server.host} within 0.3 s (HF_HUB_ETAG_TIMEOUT) (gave up after 2 tries)`,
    );
    assert.equal(server.count(), 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /no answer from .* within 0\.3 s \(HF_HUB_ETAG_TIMEOUT\); retry 1\/1/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    restore();
    await server.close();
  }
});

test("a JSON body that stalls mid-way is retried (read inside the retry loop, under the download timeout)", { timeout: 10_000 }, async () => {
  const whole = JSON.stringify({ whole: true });
  const server = await serve((_req, res, n) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(whole.length) });
    if (n === 1) res.write(whole.slice(0, 5));
    else res.end(whole);
  });
  try {
    const response = await quietly(() => createRetryingFetch({ policy: fast, ...network })(`${server.url}/api/tree`));
    assert.deepEqual(await response.json(), { whole: true });
    assert.equal(server.count(), 2);
  } finally {
    await server.close();
  }
});

test("offline mode: no request at all, through the retrying fetch too", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => res.end());
  try {
    await assert.rejects(createRetryingFetch({ policy: fast, ...network, offline: true })(`${server.url}/api/x`), /offline mode is on/);
    assert.equal(server.count(), 0);
  } finally {
    await server.close();
  }
});
