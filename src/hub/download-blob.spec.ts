import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeError } from "../common/errors.ts";
import { setLogSink } from "../common/logger.ts";
import { downloadBlob } from "./download-blob.ts";
import { NetworkFailure } from "./network-failure.ts";
import { gitBlobSha1 } from "../common/file-hashes.ts";

const content = randomBytes(200_000);
const sha256 = createHash("sha256").update(content).digest("hex");

interface Seen {
  range?: string;
  authorization?: string;
}

/** Serves `content` with byte ranges; `plan(n)` can cut the n-th answer after some bytes or ignore Range. */
async function serve(plan: (n: number) => { cutAfter?: number; stallAfter?: number; ignoreRange?: boolean } = () => ({})) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ range: req.headers.range, authorization: req.headers.authorization });
    const { cutAfter, stallAfter, ignoreRange } = plan(seen.length);
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = match && !ignoreRange ? Number(match[1]) : 0;
    const body = content.subarray(start);
    const headers = { "content-type": "application/octet-stream", "content-length": String(body.length) };
    if (start > 0) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${content.length - 1}/${content.length}` });
    else res.writeHead(200, headers);
    if (stallAfter !== undefined) res.write(body.subarray(0, stallAfter)); // and then nothing, connection open
    else if (cutAfter === undefined) res.end(body);
    else res.write(body.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 5));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/datasets/ns/n/resolve/abc/big.bin`;
  const close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return { url, seen, close };
}

// Each test has a timeout: a regression must fail, not hang on a server that never answers.
const fast = { baseDelayMs: 1, sleep: async () => {} };
/** Offline off whatever the environment says; a short transfer timeout. */
const network = { offline: false, downloadTimeoutMs: 300 };
const expected = { size: content.length, algorithm: "sha256" as const, digest: sha256 };

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = setLogSink(() => {});
  try {
    return await fn();
  } finally {
    restore();
  }
}

test("a connection dropped mid-body is resumed with a Range request and the blob verified", { timeout: 10_000 }, async () => {
  const server = await serve((n) => (n === 1 ? { cutAfter: 70_000 } : {}));
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  const blobPath = join(dir, sha256);
  try {
    const fetched = await quietly(() =>
      downloadBlob({ url: server.url, blobPath, expected, displayPath: "big.bin", accessToken: "hf_x1234", retryPolicy: fast, ...network }),
    );
    assert.deepEqual(readFileSync(blobPath), content);
    assert.equal(existsSync(`${blobPath}.incomplete`), false);
    assert.equal(server.seen.length, 2);
    assert.equal(server.seen[0]!.range, undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.seen[1]!.range ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 70_000, `resumed at ${resumedAt}`);
    assert.equal(fetched, content.length);
    assert.equal(server.seen[1]!.authorization, "Bearer hf_x1234");
  } finally {
    await server.close();
  }
});

test("a partial file left by an earlier run is resumed from its size", { timeout: 10_000 }, async () => {
  const server = await serve();
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  const blobPath = join(dir, sha256);
  writeFileSync(`${blobPath}.incomplete`, content.subarray(0, 12_345));
  try {
    const fetched = await downloadBlob({ url: server.url, blobPath, expected, displayPath: "big.bin", retryPolicy: fast, ...network });
    assert.deepEqual(server.seen.map((s) => s.range), ["bytes=12345-"]);
    assert.equal(fetched, content.length - 12_345);
    assert.deepEqual(readFileSync(blobPath), content);
  } finally {
    await server.close();
  }
});

test("a server that ignores Range (200) has the partial file overwritten, not appended to", { timeout: 10_000 }, async () => {
  const server = await serve(() => ({ ignoreRange: true }));
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  const blobPath = join(dir, sha256);
  writeFileSync(`${blobPath}.incomplete`, content.subarray(0, 5_000));
  try {
    await downloadBlob({ url: server.url, blobPath, expected, displayPath: "big.bin", retryPolicy: fast, ...network });
    assert.deepEqual(readFileSync(blobPath), content);
  } finally {
    await server.close();
  }
});

test("content that does not match the listed hash is deleted and reported", { timeout: 10_000 }, async () => {
  const server = await serve();
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  const wrongDigest = gitBlobSha1(new Uint8Array([1, 2, 3]));
  const blobPath = join(dir, wrongDigest);
  try {
    await assert.rejects(
      downloadBlob({
        url: server.url,
        blobPath,
        expected: { size: content.length, algorithm: "git-sha1", digest: wrongDigest },
        displayPath: "data/big.bin",
        retryPolicy: fast,
        ...network,
      }),
      (error: unknown) => error instanceof RuntimeError && /data\/big\.bin/.test(error.message) && /git-sha1/.test(error.message),
    );
    assert.equal(existsSync(blobPath), false);
    assert.equal(existsSync(`${blobPath}.incomplete`), false);
  } finally {
    await server.close();
  }
});

test("a transfer that stalls mid-body is aborted within HF_HUB_DOWNLOAD_TIMEOUT and resumed at the exact byte", { timeout: 10_000 }, async () => {
  const server = await serve((n) => (n === 1 ? { stallAfter: 70_000 } : {}));
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  const blobPath = join(dir, sha256);
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  const started = Date.now();
  try {
    const fetched = await downloadBlob({ url: `${server.url}?X-Amz-Signature=s`, blobPath, expected, displayPath: "big.bin", retryPolicy: fast, ...network });
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(server.seen.map((s) => s.range), [undefined, "bytes=70000-"]);
    assert.equal(fetched, content.length);
    assert.deepEqual(readFileSync(blobPath), content);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^warning: GET \/datasets\/ns\/n\/resolve\/abc\/big\.bin: stalled: no data for 0\.3 s from 127\.0\.0\.1:\d+ \(HF_HUB_DOWNLOAD_TIMEOUT\); retry 1\/5/);
  } finally {
    restore();
    await server.close();
  }
});

test("a download that keeps stalling gives up with the host, the cause and the tries", { timeout: 10_000 }, async () => {
  const server = await serve(() => ({ stallAfter: 10 }));
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  try {
    await assert.rejects(
      quietly(() =>
        downloadBlob({ url: server.url, blobPath: join(dir, sha256), expected, displayPath: "big.bin", retryPolicy: { ...fast, maxTries: 2 }, ...network }),
      ),
      (error: unknown) =>
        error instanceof NetworkFailure &&
        /^GET http:\/\/127\.0\.0\.1:\d+\/datasets\/ns\/n\/resolve\/abc\/big\.bin: stalled: no data for 0\.3 s from 127\.0\.0\.1:\d+ \(HF_HUB_DOWNLOAD_TIMEOUT\) \(gave up after 2 tries\)$/.test(error.message),
    );
    // The second try resumed after the bytes the first one got.
    assert.deepEqual(server.seen.map((s) => s.range), [undefined, "bytes=10-"]);
  } finally {
    await server.close();
  }
});

test("a 5xx that outlasts the retries is reported with the request", { timeout: 10_000 }, async () => {
  const server = createServer((_req, res) => res.writeHead(503).end());
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/datasets/ns/n/resolve/abc/big.bin`;
  const dir = mkdtempSync(join(tmpdir(), "idc-blob-"));
  try {
    await assert.rejects(
      quietly(() => downloadBlob({ url: `${url}?sig=1`, blobPath: join(dir, sha256), expected, displayPath: "big.bin", retryPolicy: { ...fast, maxTries: 2 }, ...network })),
      (error: unknown) => error instanceof RuntimeError && error.message === `GET ${url}: status 503`,
    );
  } finally {
    await new Promise<void>((done) => server.close(() => done()));
  }
});
