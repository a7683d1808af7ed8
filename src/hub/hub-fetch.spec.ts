import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHubFetch } from "./hub-fetch.ts";
import { HubOfflineError } from "./hub-offline-error.ts";
import { NetworkFailure } from "./network-failure.ts";

/** A raw HTTP server on 127.0.0.1 counting requests; close() also cuts held connections. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  let requests = 0;
  const closed: number[] = [];
  const server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  server.on("connection", (socket) => socket.on("close", () => closed.push(Date.now())));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    requests: () => requests,
    closedSockets: () => closed.length,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The NetworkFailure `promise` rejects with, and how long it took. */
async function failureOf(promise: Promise<unknown>): Promise<{ failure: NetworkFailure; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof NetworkFailure, `a NetworkFailure, got ${String(error)}`);
    return { failure: error, ms: Date.now() - started };
  }
  assert.fail("expected a failure");
}

// Each test has a timeout: a regression must fail, not hang on a server that never answers.
const fast = { etagTimeoutMs: 300, downloadTimeoutMs: 300, offline: false };

test("offline mode refuses every request before it leaves the process, from the flag or HF_HUB_OFFLINE", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => res.end("{}"));
  const previous = process.env.HF_HUB_OFFLINE;
  try {
    const offline = createHubFetch({ ...fast, offline: true });
    await assert.rejects(offline(`${server.url}/api/datasets/a/b?expand=sha`), (error: unknown) => {
      assert.ok(error instanceof HubOfflineError);
      assert.match(error.message, /offline mode is on \(HF_HUB_OFFLINE\).*refused GET http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/a\/b;/);
      assert.ok(!error.message.includes("expand"), "no query string");
      return true;
    });
    await assert.rejects(offline(`${server.url}/x`, { method: "PUT", body: new Blob(["data"]) }), HubOfflineError);
    process.env.HF_HUB_OFFLINE = "yes";
    await assert.rejects(createHubFetch()(`${server.url}/x`), HubOfflineError);
    assert.equal(server.requests(), 0);
  } finally {
    if (previous === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = previous;
    await server.close();
  }
});

test("a server that takes the connection and never answers fails within HF_HUB_ETAG_TIMEOUT, naming host and timeout", { timeout: 10_000 }, async () => {
  const server = await serve(() => {});
  try {
    const { failure, ms } = await failureOf(createHubFetch(fast)(`${server.url}/api/datasets/a/b?secret=1`));
    assert.equal(
      failure.message,
      `GET ${server.url}/api/datasets/a/b: no answer from ${server.host} within 0.3 s (HF_HUB_ETAG_TIMEOUT)`,
    );
    assert.equal(failure.kind, "no-answer");
    assert.ok(failure.transient);
    assert.ok(ms >= 200 && ms < 2500, `${ms} ms`);
  } finally {
    await server.close();
  }
});

test("downloads wait for their headers HF_HUB_DOWNLOAD_TIMEOUT, not the etag timeout", { timeout: 10_000 }, async () => {
  const server = await serve(() => {});
  try {
    const hubFetch = createHubFetch({ ...fast, etagTimeoutMs: 5_000, purpose: "download" });
    const { failure, ms } = await failureOf(hubFetch(`${server.url}/datasets/a/b/resolve/main/x.bin`));
    assert.match(failure.message, /no answer from 127\.0\.0\.1:\d+ within 0\.3 s \(HF_HUB_DOWNLOAD_TIMEOUT\)$/);
    assert.ok(ms < 2500, `${ms} ms`);
  } finally {
    await server.close();
  }
});

test("headers then silence mid-body: the read fails within HF_HUB_DOWNLOAD_TIMEOUT and the connection is released", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000" });
    res.write(Buffer.alloc(100));
  });
  try {
    const response = await createHubFetch(fast)(`${server.url}/datasets/a/b/resolve/main/x.bin`);
    const reader = response.body!.getReader();
    assert.equal((await reader.read()).value?.byteLength, 100);
    const { failure, ms } = await failureOf(reader.read());
    assert.equal(
      failure.message,
      `GET ${server.url}/datasets/a/b/resolve/main/x.bin: stalled: no data for 0.3 s from ${server.host} (HF_HUB_DOWNLOAD_TIMEOUT)`,
    );
    assert.equal(failure.kind, "stalled");
    assert.ok(failure.transient);
    assert.ok(ms >= 200 && ms < 2500, `${ms} ms`);
    for (let i = 0; i < 50 && server.closedSockets() === 0; i++) await new Promise((done) => setTimeout(done, 10));
    assert.equal(server.closedSockets(), 1, "the stalled connection was closed");
  } finally {
    await server.close();
  }
});

test("a slow reader is not a stalled server: only time spent waiting for the network counts", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(5_000)));
  try {
    const response = await createHubFetch(fast)(`${server.url}/x`);
    await new Promise((done) => setTimeout(done, 500));
    assert.equal((await response.arrayBuffer()).byteLength, 5_000);
    assert.equal(response.url, `${server.url}/x`);
  } finally {
    await server.close();
  }
});

test("a connection closed before any answer is a transient failure naming the host", { timeout: 10_000 }, async () => {
  const server = await serve((req) => req.socket.destroy());
  try {
    const { failure } = await failureOf(createHubFetch(fast)(`${server.url}/api/x`));
    assert.equal(failure.message, `GET ${server.url}/api/x: connection to ${server.host} lost: other side closed (UND_ERR_SOCKET)`);
    assert.ok(failure.transient);
  } finally {
    await server.close();
  }
});

test("a refused port fails at once, not transient, naming host and ECONNREFUSED", { timeout: 10_000 }, async () => {
  const server = await serve(() => {});
  await server.close();
  const { failure, ms } = await failureOf(createHubFetch(fast)(`${server.url}/api/x`));
  assert.equal(failure.message, `GET ${server.url}/api/x: connection refused by ${server.host}: nothing listens there (ECONNREFUSED)`);
  assert.equal(failure.kind, "refused");
  assert.ok(!failure.transient);
  assert.ok(ms < 1000, `${ms} ms`);
});

test("a host that does not resolve fails naming the host and the resolver's code", { timeout: 10_000 }, async () => {
  const { failure, ms } = await failureOf(createHubFetch(fast)("https://nohost.invalid/api/datasets/a/b?token=1"));
  // An offline resolver may answer EAI_AGAIN instead: a doubtful failure, retried once only.
  if (failure.kind === "dns-temporary") {
    assert.equal(failure.message, "GET https://nohost.invalid/api/datasets/a/b: temporary DNS failure resolving nohost.invalid (EAI_AGAIN)");
    assert.equal(failure.details.maxTries, 2);
  } else {
    assert.match(failure.message, /^GET https:\/\/nohost\.invalid\/api\/datasets\/a\/b: cannot resolve host nohost\.invalid \((ENOTFOUND|EAI_NONAME)\)$/);
    assert.ok(!failure.transient);
  }
  assert.ok(ms < 3000, `${ms} ms`);
});

test("TLS spoken to a plain HTTP port is a TLS failure, not transient", { timeout: 10_000 }, async () => {
  const server = await serve((_req, res) => res.end("plain"));
  try {
    const { failure } = await failureOf(createHubFetch(fast)(`https://${server.host}/api/x`));
    assert.equal(failure.kind, "tls");
    assert.ok(!failure.transient);
    assert.match(failure.message, new RegExp(`^GET https://${server.host}/api/x: TLS failure with ${server.host}: .*wrong version number.* \\((ERR_SSL_|EPROTO)`));
  } finally {
    await server.close();
  }
});

test("an upload the server stops reading is stalled after HF_HUB_DOWNLOAD_TIMEOUT; a Blob body keeps its Content-Length", { timeout: 10_000 }, async () => {
  let length: string | undefined;
  const server = await serve((req) => {
    length = req.headers["content-length"];
    req.pause();
  });
  try {
    // More than the socket buffers take, in 64 KiB chunks as a file-backed Blob streams.
    const body = new Blob(Array.from({ length: 512 }, () => new Uint8Array(65_536)));
    const { failure, ms } = await failureOf(createHubFetch(fast)(`${server.url}/lfs/put?X-Amz-Signature=s`, { method: "PUT", body }));
    assert.equal(failure.message, `PUT ${server.url}/lfs/put: stalled: ${server.host} took no request data for 0.3 s (HF_HUB_DOWNLOAD_TIMEOUT)`);
    assert.equal(length, String(512 * 65_536));
    assert.ok(ms < 3000, `${ms} ms`);
  } finally {
    await server.close();
  }
});

test("a request body read to the end but never answered fails WRITE_ANSWER_FACTOR x HF_HUB_ETAG_TIMEOUT after it was sent", { timeout: 10_000 }, async () => {
  let received = 0;
  const server = await serve((req) => req.on("data", (chunk: Buffer) => (received += chunk.length)));
  try {
    const body = new Blob([new Uint8Array(200_000)]);
    const hubFetch = createHubFetch({ ...fast, etagTimeoutMs: 100 });
    const { failure, ms } = await failureOf(hubFetch(`${server.url}/api/commit`, { method: "POST", body }));
    assert.equal(
      failure.message,
      `POST ${server.url}/api/commit: no answer from ${server.host} within 0.6 s after the request body was sent (6 x HF_HUB_ETAG_TIMEOUT)`,
    );
    assert.ok(ms >= 580 && ms < 3000, `${ms} ms`);
    // The server side may see the bytes a turn of the event loop later on a busy machine.
    for (let i = 0; i < 50 && received < 200_000; i++) await new Promise((done) => setTimeout(done, 10));
    assert.equal(received, 200_000);
    // A string body is sent at once: the same bound from the start.
    const text = await failureOf(hubFetch(`${server.url}/api/commit`, { method: "POST", body: "{}" }));
    assert.match(text.failure.message, /within 0\.6 s after the request body was sent/);
  } finally {
    await server.close();
  }
});

test("an answered upload is unaffected, and the caller's own abort passes through unchanged", { timeout: 10_000 }, async () => {
  const server = await serve((req, res) => {
    let n = 0;
    req.on("data", (chunk: Buffer) => (n += chunk.length));
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ n })));
  });
  try {
    const ok = await createHubFetch(fast)(`${server.url}/put`, { method: "PUT", body: new Blob([new Uint8Array(70_000)]) });
    assert.deepEqual(await ok.json(), { n: 70_000 });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(createHubFetch(fast)(`${server.url}/put`, { signal: controller.signal }), (error: unknown) => {
      assert.ok(!(error instanceof NetworkFailure));
      assert.equal((error as Error).name, "AbortError");
      return true;
    });
  } finally {
    await server.close();
  }
});
