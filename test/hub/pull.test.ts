import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError, UsageError } from "../../src/common/errors.ts";
import { gitBlobSha1 } from "../../src/common/file-hashes.ts";
import { pullSnapshot } from "../../src/hub/pull-snapshot.ts";
import { FAST_RETRIES, TOKEN, bytes, captureLogs, startEmulator } from "./setup.ts";

const files: Record<string, Uint8Array | string> = {
  "README.md": "# source\n",
  "meta/labels.csv": "file,label\na.jpg,0\n",
  "data/train-00000-of-00002.parquet": bytes(300_000, 1),
  "data/train-00001-of-00002.parquet": bytes(200_000, 2),
  "images/a.jpg": bytes(5_000, 3),
  "images/b.jpg": bytes(6_000, 4),
  "images/c.jpg": bytes(7_000, 5),
};

async function seeded() {
  const { hub, dir } = await startEmulator();
  const commit = await hub.seed({ repo: "ns/source", files, tag: "v1" });
  const cacheDir = join(dir, "cache");
  const params = { repo: "ns/source", hubUrl: hub.url, accessToken: TOKEN, cacheDir, retryPolicy: FAST_RETRIES };
  return { hub, dir, commit, cacheDir, params };
}

test("pull at a tag and at the sha give the same Python-layout snapshot; a second pull downloads nothing", async () => {
  const { hub, commit, cacheDir, params } = await seeded();
  try {
    const byTag = (await captureLogs(() => pullSnapshot({ ...params, revision: "v1" }))).value!;
    const repoDir = join(cacheDir, "datasets--ns--source");
    assert.equal(byTag.commit, commit);
    assert.equal(byTag.snapshotPath, join(repoDir, "snapshots", commit));
    assert.equal(byTag.files, 8); // the seed's files + .gitattributes
    assert.equal(byTag.downloaded, 8);
    assert.equal(readFileSync(join(repoDir, "refs", "v1"), "utf8"), commit);

    const remote = await hub.files("ns/source", commit);
    for (const [path, info] of Object.entries(remote)) {
      const link = join(byTag.snapshotPath, path);
      assert.ok(lstatSync(link).isSymbolicLink(), `${path} is a symlink`);
      const content = new Uint8Array(readFileSync(link));
      const etag = info.lfs ? info.sha256 : gitBlobSha1(content);
      const depth = path.split("/").length - 1;
      assert.equal(readlinkSync(link), `${"../".repeat(depth + 2)}blobs/${etag}`, path);
      assert.deepEqual(content, await hub.readFile("ns/source", commit, path), path);
    }
    assert.ok(remote["data/train-00000-of-00002.parquet"]!.lfs, "parquet shards are LFS files");
    assert.ok(!remote["README.md"]!.lfs);
    assert.ok(readdirSync(join(repoDir, "blobs")).every((name) => !name.endsWith(".incomplete")));

    hub.clearRequests();
    const again = (await captureLogs(() => pullSnapshot({ ...params, revision: "v1" }))).value!;
    assert.deepEqual(again, { ...byTag, downloaded: 0, bytes: 0 });
    assert.deepEqual(
      hub.requests.filter((r) => r.path.includes("/resolve/")),
      [],
      "a second pull of the same commit makes no download request",
    );
    hub.clearRequests();
    const bySha = (await captureLogs(() => pullSnapshot({ ...params, revision: commit }))).value!;
    assert.deepEqual(bySha, { ...byTag, downloaded: 0, bytes: 0 });
    assert.equal(hub.requests.length, 0, "a completed commit pulled by its sha needs no request at all");

    // A snapshot link removed by hand invalidates the completeness marker: the listing is read
    // again and the link restored from the blob still in the cache.
    rmSync(join(byTag.snapshotPath, "images/a.jpg"));
    const repaired = (await captureLogs(() => pullSnapshot({ ...params, revision: commit }))).value!;
    assert.equal(repaired.downloaded, 0);
    assert.ok(hub.requests.some((r) => r.path.includes("/tree/")));
    assert.ok(lstatSync(join(byTag.snapshotPath, "images/a.jpg")).isSymbolicLink());
    // And a blob removed by hand is downloaded again.
    const infoA = remote["images/a.jpg"]!;
    rmSync(join(repoDir, "blobs", infoA.lfs ? infoA.sha256 : gitBlobSha1(files["images/a.jpg"] as Uint8Array)));
    const refetched = (await captureLogs(() => pullSnapshot({ ...params, revision: commit }))).value!;
    assert.equal(refetched.downloaded, 1);
    assert.deepEqual(new Uint8Array(readFileSync(join(byTag.snapshotPath, "images/a.jpg"))), files["images/a.jpg"]);
  } finally {
    await hub.close();
  }
});

test("include/exclude globs select the files; the listing is paged", async () => {
  const { hub, params } = await seeded();
  try {
    const result = (
      await captureLogs(() => pullSnapshot({ ...params, include: ["images/**", "*.md"], exclude: ["images/b.jpg"] }))
    ).value!;
    assert.deepEqual(readdirSync(result.snapshotPath, { recursive: true }).sort(), ["README.md", "images", "images/a.jpg", "images/c.jpg"]);
    assert.ok(hub.requests.filter((r) => r.path.includes("/tree/")).length >= 2, "the tree listing was paged");
  } finally {
    await hub.close();
  }
});

test("a download dropped mid-body resumes with a Range request", async () => {
  const { hub, params } = await seeded();
  try {
    hub.setFaults({ rate: 1, kinds: ["drop"], match: /resolve\/.*train-00000/, maxFaults: 1 });
    const { value, lines } = await captureLogs(() => pullSnapshot({ ...params, include: ["data/**"] }));
    assert.ok(value, lines.join("\n"));
    const shard = hub.requests.filter((r) => r.path.includes("train-00000") && r.method === "GET");
    assert.equal(shard[0]?.fault, "drop");
    const resumed = shard.find((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? ""));
    assert.ok(resumed, `a ranged resume request: ${JSON.stringify(shard)}`);
    assert.equal(resumed.status, 206);
    assert.deepEqual(new Uint8Array(readFileSync(join(value.snapshotPath, "data/train-00000-of-00002.parquet"))), files["data/train-00000-of-00002.parquet"]);
    assert.ok(lines.some((line) => line.startsWith("warning: GET /datasets/ns/source/resolve/")), lines.join("\n"));
  } finally {
    await hub.close();
  }
});

test("a partial .incomplete blob left by an earlier run is resumed from its size", async () => {
  const { hub, commit, cacheDir, params } = await seeded();
  try {
    const remote = await hub.files("ns/source", commit);
    const sha = remote["data/train-00001-of-00002.parquet"]!.sha256;
    const blobs = join(cacheDir, "datasets--ns--source", "blobs");
    mkdirSync(blobs, { recursive: true });
    const shard = files["data/train-00001-of-00002.parquet"] as Uint8Array;
    writeFileSync(join(blobs, `${sha}.incomplete`), shard.subarray(0, 123_456));
    const { value } = await captureLogs(() => pullSnapshot({ ...params, include: ["data/train-00001*"] }));
    assert.ok(value);
    const gets = hub.requests.filter((r) => r.path.includes("/resolve/"));
    assert.deepEqual(gets.map((r) => r.range), ["bytes=123456-"]);
    assert.equal(value.bytes, shard.length - 123_456);
    assert.deepEqual(new Uint8Array(readFileSync(join(blobs, sha))), shard);
  } finally {
    await hub.close();
  }
});

test("a 429/503/dropped-connection storm at rate 0.1 still completes with every file verified", async () => {
  const { hub, commit, params } = await seeded();
  try {
    hub.setFaults({ rate: 0.1, kinds: ["429", "503", "drop"], retryAfterSeconds: 0.01, seed: 7 });
    // Several passes on fresh caches, so enough requests go through the storm.
    const kinds = new Set<string>();
    let faults = 0;
    for (const pass of [1, 2, 3]) {
      hub.clearRequests();
      const { value, error } = await captureLogs(() => pullSnapshot({ ...params, cacheDir: `${params.cacheDir}-${pass}`, revision: "v1" }));
      assert.equal(error, undefined);
      assert.equal(value!.commit, commit);
      assert.equal(value!.files, 8);
      faults += hub.requests.filter((r) => r.fault).length;
      for (const r of hub.requests) if (r.fault) kinds.add(r.fault);
    }
    assert.ok(faults >= 3, `the storm hit ${faults} requests`);
    assert.ok(kinds.has("drop") && (kinds.has("429") || kinds.has("503")), `fault kinds seen: ${[...kinds]}`);
  } finally {
    await hub.close();
  }
});

test("a listing naming ../x is refused before anything is written", async () => {
  const { hub, dir, cacheDir, params } = await seeded();
  try {
    hub.setListingTamper((entries) => [
      ...entries,
      { ...entries.find((e) => e.type === "file")!, path: "../../../../x" },
    ]);
    const { error } = await captureLogs(() => pullSnapshot(params));
    assert.ok(error instanceof RuntimeError, String(error));
    assert.match(error.message, /"\.\.\/\.\.\/\.\.\/\.\.\/x"/);
    assert.equal(existsSync(cacheDir), false, "nothing written, not even the cache folder");
    assert.equal(existsSync(join(dir, "x")), false);
    assert.deepEqual(hub.requests.filter((r) => r.path.includes("/resolve/")), []);
  } finally {
    await hub.close();
  }
});

test("an unknown repo or revision is a usage error naming it", async () => {
  const { hub, params } = await seeded();
  try {
    const missingRepo = await captureLogs(() => pullSnapshot({ ...params, repo: "ns/nope" }));
    assert.ok(missingRepo.error instanceof UsageError);
    assert.match(missingRepo.error.message, /ns\/nope@main/);
    const missingRev = await captureLogs(() => pullSnapshot({ ...params, revision: "v9" }));
    assert.ok(missingRev.error instanceof UsageError);
    assert.match(missingRev.error.message, /ns\/source@v9/);
  } finally {
    await hub.close();
  }
});

test("model repos resolve without a type prefix and cache under models--ns--name", async () => {
  const { hub, dir } = await startEmulator();
  try {
    const commit = await hub.seed({ repo: "acme/detector", type: "model", files: { "model.onnx": bytes(40_000, 9) } });
    const { value, error } = await captureLogs(() =>
      pullSnapshot({ repo: "acme/detector", repoType: "model", hubUrl: hub.url, cacheDir: join(dir, "cache"), retryPolicy: FAST_RETRIES }),
    );
    assert.equal(error, undefined);
    assert.equal(value!.snapshotPath, join(dir, "cache", "models--acme--detector", "snapshots", commit));
    assert.deepEqual(new Uint8Array(readFileSync(join(value!.snapshotPath, "model.onnx"))), bytes(40_000, 9));
    assert.ok(hub.requests.some((r) => r.path.startsWith(`/acme/detector/resolve/${commit}/model.onnx`)));
  } finally {
    await hub.close();
  }
});
