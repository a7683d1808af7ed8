import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setLogSink } from "../common/logger.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, count: () => n, close: () => new Promise<void>((done) => server.close(() => done())) };
}

const fast = { baseDelayMs: 1, sleep: async () => {} };

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = setLogSink(() => {});
  return fn().finally(restore);
}

test("503 and 429 answers are retried until the real answer comes", async () => {
  const server = await serve((_req, res, n) => {
    if (n === 1) res.writeHead(503, { "content-type": "application/json" }).end('{"error":"busy"}');
    else if (n === 2) res.writeHead(429, { "retry-after": "0" }).end();
    else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  try {
    const retrying = createRetryingFetch({ policy: fast });
    const response = await quietly(() => retrying(`${server.url}/api/x?secret=1`));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal(response.url, `${server.url}/api/x?secret=1`);
    assert.equal(server.count(), 3);
  } finally {
    await server.close();
  }
});

test("a JSON body cut off mid-way is retried (read inside the retry loop)", async () => {
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
    const response = await createRetryingFetch({ policy: fast })(`${server.url}/api/tree?x=1`).finally(restore);
    assert.deepEqual(await response.json(), { whole: "x".repeat(26) });
    assert.equal(server.count(), 2);
    assert.equal(lines.length, 1);
    // The log names method and path, never the query string.
    assert.match(lines[0]!, /GET \/api\/tree: /);
    assert.ok(!lines[0]!.includes("x=1"));
  } finally {
    await server.close();
  }
});

test("when the tries are spent the last error answer is returned for the client to report", async () => {
  const server = await serve((_req, res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"down"}'));
  try {
    const response = await quietly(() => createRetryingFetch({ policy: { ...fast, maxTries: 3 } })(`${server.url}/x`));
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { error: "down" });
    assert.equal(server.count(), 3);
  } finally {
    await server.close();
  }
});

test("a request with a stream body is sent once (a stream cannot be replayed); a string body is replayed", async () => {
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
    const retrying = createRetryingFetch({ policy: { ...fast, maxTries: 3 } });
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

test("a refused connection is retried and finally thrown", async () => {
  const server = await serve(() => {});
  const url = server.url;
  await server.close();
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    await assert.rejects(createRetryingFetch({ policy: { ...fast, maxTries: 2 } })(`${url}/x`), /fetch failed/);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /ECONNREFUSED/);
  } finally {
    restore();
  }
});
