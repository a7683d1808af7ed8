import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { setLogSink } from "../common/logger.ts";
import { startHubEmulator } from "../../test/hub-emulator/index.ts";
import { HubOfflineError } from "./hub-offline-error.ts";
import { NetworkFailure } from "./network-failure.ts";
import { pullSnapshot } from "./pull-snapshot.ts";
import type { PullSnapshotParams } from "./pull-snapshot.ts";

// Each test has a timeout: a regression must fail, not hang on a server that never answers.
const TOKEN = "hf_offlineSpecToken0123456789";
const files = {
  "README.md": "# source\n",
  "meta/labels.csv": "file,label\na.jpg,0\n",
  "data/train-00000-of-00001.parquet": new Uint8Array(50_000).fill(7),
  "images/a.jpg": new Uint8Array(3_000).fill(1),
};

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = setLogSink(() => {});
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** An emulator with one seeded repo, a fresh cache, and a fetch that counts the calls it sees. */
async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "idc-offline-"));
  const hub = await startHubEmulator({ storage: join(dir, "storage") });
  const commit = await hub.seed({ repo: "ns/source", files, tag: "v1" });
  let calls = 0;
  const counting: typeof fetch = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  const params: PullSnapshotParams = {
    repo: "ns/source",
    hubUrl: hub.url,
    accessToken: TOKEN,
    cacheDir: join(dir, "cache"),
    fetch: counting,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 5 },
    etagTimeoutMs: 500,
    downloadTimeoutMs: 300,
    offline: false,
  };
  return { hub, commit, params, calls: () => calls };
}

test("offline, a previously pulled snapshot is returned by branch, tag or sha without a single request", { timeout: 10_000 }, async () => {
  const { hub, commit, params, calls } = await setup();
  try {
    const include = ["data/**", "README.md"];
    const online = await quietly(() => pullSnapshot({ ...params, include }));
    await quietly(() => pullSnapshot({ ...params, include, revision: "v1" }));
    hub.clearRequests();
    const before = calls();

    const offline = await quietly(() => pullSnapshot({ ...params, include, offline: true }));
    assert.deepEqual(offline, { ...online, downloaded: 0, bytes: 0 });
    assert.deepEqual(await quietly(() => pullSnapshot({ ...params, include, offline: true, revision: "v1" })), offline);
    assert.deepEqual(await quietly(() => pullSnapshot({ ...params, include, offline: true, revision: commit })), offline);
    // A narrower selection of what was pulled needs no marker of its own.
    const readme = await quietly(() => pullSnapshot({ ...params, include: ["README.md"], offline: true }));
    assert.equal(readme.files, 1);
    assert.equal(readFileSync(join(readme.snapshotPath, "README.md"), "utf8"), "# source\n");

    assert.equal(hub.requests.length, 0, "the server saw no request");
    assert.equal(calls(), before, "the fetch was never called");
  } finally {
    await hub.close();
  }
});

test("HF_HUB_OFFLINE in the environment is enough: no request, the cache answers", { timeout: 10_000 }, async () => {
  const { hub, params } = await setup();
  const previous = process.env.HF_HUB_OFFLINE;
  try {
    const { offline: _offline, ...withoutFlag } = params;
    const online = await quietly(() => pullSnapshot({ ...params, include: ["images/**"] }));
    hub.clearRequests();
    process.env.HF_HUB_OFFLINE = "ON";
    const offline = await quietly(() => pullSnapshot({ ...withoutFlag, include: ["images/**"] }));
    assert.equal(offline.snapshotPath, online.snapshotPath);
    assert.equal(hub.requests.length, 0);
  } finally {
    if (previous === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = previous;
    await hub.close();
  }
});

test("offline, what the cache lacks is a usage error naming repo, revision and file, and says offline mode is on", { timeout: 10_000 }, async () => {
  const { hub, commit, params } = await setup();
  try {
    const first = await quietly(() => pullSnapshot({ ...params, include: ["README.md", "images/**"] }));
    hub.clearRequests();
    const offline = { ...params, offline: true };
    const rejects = (extra: Partial<PullSnapshotParams>, pattern: RegExp) =>
      assert.rejects(quietly(() => pullSnapshot({ ...offline, ...extra })), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, /offline mode is on \(HF_HUB_OFFLINE\)/);
        assert.match(error.message, pattern);
        return true;
      });

    // A file never pulled, named plainly.
    await rejects({ include: ["meta/labels.csv"] }, /^pull ns\/source@main \(commit [0-9a-f]{12}\): .*meta\/labels\.csv is missing/);
    // A glob nothing in the cache matches.
    await rejects({ include: ["data/**"] }, /^pull ns\/source@main .*no file of the cached snapshot .* matches include \["data\/\*\*"\]/);
    // A revision never pulled.
    await rejects({ revision: "v2" }, /^pull ns\/source@v2: .*no snapshot of dataset ns\/source@v2: .*refs\/v2 does not exist/);
    await rejects({ revision: "f".repeat(40) }, new RegExp(`snapshots/${"f".repeat(40)} does not exist`));
    // A file of the pulled selection whose blob was deleted.
    rmSync(join(params.cacheDir, "datasets--ns--source", "blobs"), { recursive: true });
    await rejects({ include: ["README.md", "images/**"] }, /README\.md \(and 1 more file\) is missing|images\/a\.jpg \(and 1 more file\) is missing/);
    assert.equal(first.commit, commit);
    assert.equal(hub.requests.length, 0);
  } finally {
    await hub.close();
  }
});

test("a cache without our markers (filled by Python) is used as Python does, with the globs applied", { timeout: 10_000 }, async () => {
  const { hub, params } = await setup();
  try {
    await quietly(() => pullSnapshot({ ...params }));
    rmSync(join(params.cacheDir, "datasets--ns--source", ".idclusters"), { recursive: true });
    hub.clearRequests();
    const images = await quietly(() => pullSnapshot({ ...params, offline: true, include: ["images/**", "*.md"], exclude: ["README.md"] }));
    assert.equal(images.files, 1);
    await assert.rejects(quietly(() => pullSnapshot({ ...params, offline: true, include: ["nope.txt"] })), /nope\.txt is missing/);
    assert.equal(hub.requests.length, 0);
  } finally {
    await hub.close();
  }
});

test("online, a stalled download is resumed, and an API that never answers fails naming host and timeout through the client", { timeout: 10_000 }, async () => {
  const { hub, params } = await setup();
  try {
    hub.setFaults({ rate: 1, kinds: ["stall"], match: /resolve\/.*train-00000/, maxFaults: 1 });
    const pulled = await quietly(() => pullSnapshot({ ...params, include: ["data/**"] }));
    assert.deepEqual(new Uint8Array(readFileSync(join(pulled.snapshotPath, "data/train-00000-of-00001.parquet"))), files["data/train-00000-of-00001.parquet"]);
    const shard = hub.requests.filter((r) => r.path.includes("train-00000") && r.method === "GET");
    assert.equal(shard[0]?.fault, "stall");
    assert.match(shard.at(-1)?.range ?? "", /^bytes=[1-9]\d*-$/, "resumed with a Range");

    hub.setFaults({ rate: 1, kinds: ["stall"], match: /^GET \/api\// });
    const started = Date.now();
    await assert.rejects(
      quietly(() => pullSnapshot({ ...params, revision: "main", retryPolicy: { baseDelayMs: 1, maxTries: 2 } })),
      (error: unknown) => {
        assert.ok(error instanceof NetworkFailure, String(error));
        assert.match(
          error.message,
          /^pull ns\/source@main: GET http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/ns\/source\/revision\/main: no answer from 127\.0\.0\.1:\d+ within 0\.5 s \(HF_HUB_ETAG_TIMEOUT\) \(gave up after 2 tries\)$/,
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000);
  } finally {
    await hub.close();
  }
});

test("a push in offline mode is refused before any request", { timeout: 10_000 }, async () => {
  const { hub } = await setup();
  const previous = process.env.HF_HUB_OFFLINE;
  try {
    const { pushFolder } = await import("./push-folder.ts");
    const folder = mkdtempSync(join(tmpdir(), "idc-offline-push-"));
    process.env.HF_HUB_OFFLINE = "1";
    await assert.rejects(
      quietly(() => pushFolder({ repo: "ns/source", folder, hubUrl: hub.url, accessToken: TOKEN })),
      (error: unknown) => error instanceof HubOfflineError && /^push ns\/source@main: offline mode is on/.test(error.message),
    );
    assert.equal(hub.requests.length, 0);
  } finally {
    if (previous === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = previous;
    await hub.close();
  }
});
