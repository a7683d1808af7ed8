import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { RuntimeError, UsageError } from "../../src/common/errors.ts";
import { pullSnapshot } from "../../src/hub/pull-snapshot.ts";
import { pushFolder } from "../../src/hub/push-folder.ts";
import { FAST_RETRIES, TOKEN, bytes, captureLogs, startEmulator } from "./setup.ts";

function folderWith(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), "idc-push-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const release = {
  "README.md": "---\nlicense: apache-2.0\n---\n# faces\n",
  "data/train-00000-of-00002.parquet": bytes(250_000, 11),
  "data/train-00001-of-00002.parquet": bytes(150_000, 12),
  "meta/clusters.json": '{"clusters": 3}\n',
};

test("push creates the repo and commits the folder as one commit of regular and LFS files; a second push commits nothing", async () => {
  const { hub } = await startEmulator();
  try {
    const folder = folderWith(release);
    const params = { repo: "me/faces", folder, hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES, message: "Release v1", tag: "v1" };
    const { value: first, error } = await captureLogs(() => pushFolder(params));
    assert.equal(error, undefined);
    assert.ok(first?.committed);
    assert.deepEqual(first.added, Object.keys(release).sort());
    const commits = await hub.commits("me/faces");
    assert.equal(commits.length, 2, "the repo's initial commit plus exactly one");
    assert.equal(commits[0]!.id, first.commitOid);
    assert.equal(commits[0]!.title, "Release v1");
    assert.equal((await hub.refs("me/faces")).tags.v1, first.commitOid);

    const remote = await hub.files("me/faces", first.commitOid);
    assert.equal(remote["data/train-00000-of-00002.parquet"]?.lfs, true);
    assert.equal(remote["README.md"]?.lfs, false);
    for (const [path, content] of Object.entries(release)) {
      assert.deepEqual(await hub.readFile("me/faces", first.commitOid, path), typeof content === "string" ? new TextEncoder().encode(content) : content);
    }

    hub.clearRequests();
    const { value: second, lines } = await captureLogs(() => pushFolder({ ...params, tag: undefined }));
    assert.equal(second?.committed, false);
    assert.equal(second.commitOid, first.commitOid);
    assert.deepEqual(second.unchanged, Object.keys(release).sort());
    assert.equal((await hub.commits("me/faces")).length, 2);
    assert.deepEqual(hub.requests.filter((r) => r.method !== "GET"), [], "no preupload, upload or commit request");
    assert.ok(lines.some((line) => /nothing to publish/.test(line)));
  } finally {
    await hub.close();
  }
});

test("updated files are re-uploaded, stale data/ shards deleted, other files kept, in one commit", async () => {
  const { hub } = await startEmulator();
  try {
    await hub.seed({
      repo: "me/faces",
      files: { ...release, "notes/keep.txt": "keep me", "data/old-extra.parquet": bytes(1000, 13) },
    });
    const before = (await hub.commits("me/faces")).length;
    const folder = folderWith({
      "README.md": "# faces v2\n",
      "data/train-00000-of-00001.parquet": bytes(300_000, 14),
      "meta/clusters.json": release["meta/clusters.json"],
    });
    const { value, error } = await captureLogs(() =>
      pushFolder({ repo: "me/faces", folder, deleteGlobs: ["data/**"], hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES }),
    );
    assert.equal(error, undefined);
    assert.deepEqual(value!.added, ["data/train-00000-of-00001.parquet"]);
    assert.deepEqual(value!.updated, ["README.md"]);
    assert.deepEqual(value!.unchanged, ["meta/clusters.json"]);
    assert.deepEqual(value!.deleted, ["data/old-extra.parquet", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    assert.equal((await hub.commits("me/faces")).length, before + 1);
    assert.deepEqual(Object.keys(await hub.files("me/faces", "main")), [
      ".gitattributes",
      "README.md",
      "data/train-00000-of-00001.parquet",
      "meta/clusters.json",
      "notes/keep.txt",
    ]);
  } finally {
    await hub.close();
  }
});

test("a branch that moves between listing and committing fails clearly and changes nothing", async () => {
  const { hub } = await startEmulator();
  try {
    const start = await hub.seed({ repo: "me/faces", files: { "README.md": "# v0\n" } });
    let intruder = "";
    const { error } = await captureLogs(() =>
      pushFolder({
        repo: "me/faces",
        folder: folderWith(release),
        hubUrl: hub.url,
        accessToken: TOKEN,
        retryPolicy: FAST_RETRIES,
        beforeCommit: async ({ parentCommit }) => {
          assert.equal(parentCommit, start);
          intruder = await hub.seed({ repo: "me/faces", files: { "other.txt": "someone else" } });
        },
      }),
    );
    assert.ok(error instanceof RuntimeError, String(error));
    assert.match(error.message, new RegExp(`moved from ${start} to ${intruder}`));
    assert.match(error.message, /nothing was changed, rerun/);
    const commits = await hub.commits("me/faces");
    assert.equal(commits[0]!.id, intruder);
    assert.deepEqual(Object.keys(await hub.files("me/faces", "main")), [".gitattributes", "README.md", "other.txt"]);
  } finally {
    await hub.close();
  }
});

test("a commit whose answer was lost after it landed is recognised on the retried request's 412", async () => {
  const { hub } = await startEmulator();
  try {
    await hub.seed({ repo: "me/faces", files: { "README.md": "# v0\n" } });
    let lost = 0;
    // The first commit POST reaches the Hub, but its answer never reaches us.
    const losingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === "POST" && String(input).includes("/commit/") && lost++ === 0) {
        await response.arrayBuffer();
        throw new TypeError("fetch failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
      }
      return response;
    };
    const { value, error, lines } = await captureLogs(() =>
      pushFolder({ repo: "me/faces", folder: folderWith(release), message: "Release", hubUrl: hub.url, accessToken: TOKEN, fetch: losingFetch, retryPolicy: FAST_RETRIES }),
    );
    assert.equal(error, undefined);
    const commits = await hub.commits("me/faces");
    assert.equal(value!.commitOid, commits[0]!.id);
    assert.equal(commits[0]!.title, "Release");
    assert.equal(commits.filter((c) => c.title === "Release").length, 1);
    assert.ok(lines.some((line) => /retried after it had landed/.test(line)), lines.join("\n"));
  } finally {
    await hub.close();
  }
});

test("a 429/503/dropped-connection storm at rate 0.1 still gives exactly one commit with the right content", async () => {
  const { hub } = await startEmulator();
  try {
    await hub.seed({ repo: "me/faces", files: { "README.md": "# v0\n" } });
    const before = (await hub.commits("me/faces")).length;
    const many: Record<string, Uint8Array | string> = { ...release };
    for (let i = 0; i < 12; i++) many[`images/${i}.jpg`] = bytes(2000 + i, 100 + i);
    hub.setFaults({ rate: 0.1, kinds: ["429", "503", "drop"], retryAfterSeconds: 0.01, seed: 3 });
    const { value, error } = await captureLogs(() =>
      pushFolder({ repo: "me/faces", folder: folderWith(many), hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES }),
    );
    assert.equal(error, undefined);
    hub.setFaults(null);
    const kinds = new Set(hub.requests.map((r) => r.fault));
    assert.ok(kinds.has("drop") && (kinds.has("429") || kinds.has("503")), `fault kinds seen: ${[...kinds]}`);
    assert.equal((await hub.commits("me/faces")).length, before + 1);
    const remote = await hub.files("me/faces", value!.commitOid);
    assert.equal(Object.keys(remote).length, Object.keys(many).length + 1);
    assert.deepEqual(await hub.readFile("me/faces", "main", "images/7.jpg"), many["images/7.jpg"]);
  } finally {
    await hub.close();
  }
});

test("push without a token, or of a missing folder, is a usage error", async () => {
  const params = { repo: "me/faces", folder: folderWith(release), hubUrl: "http://127.0.0.1:9" };
  await assert.rejects(pushFolder(params), (error: unknown) => error instanceof UsageError && /HF_TOKEN/.test(error.message));
  await assert.rejects(
    pushFolder({ ...params, folder: "/nonexistent/folder", accessToken: TOKEN }),
    (error: unknown) => error instanceof UsageError && /\/nonexistent\/folder/.test(error.message),
  );
});

test("--create-pr opens a pull request and leaves the branch alone; --private creates a private repo", async () => {
  const { hub, dir } = await startEmulator();
  try {
    const base = { folder: folderWith(release), hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES };
    const created = await captureLogs(() => pushFolder({ ...base, repo: "me/secret", private: true }));
    assert.equal(created.error, undefined);
    const anonymous = await captureLogs(() => pullSnapshot({ repo: "me/secret", hubUrl: hub.url, cacheDir: join(dir, "c"), retryPolicy: FAST_RETRIES }));
    assert.ok(anonymous.error instanceof UsageError, "an anonymous pull of the private repo is refused");

    const main = (await hub.refs("me/secret")).branches.main;
    const folder = folderWith({ ...release, "README.md": "# proposed\n" });
    const { value, error } = await captureLogs(() => pushFolder({ ...base, folder, repo: "me/secret", createPr: true }));
    assert.equal(error, undefined);
    assert.match(value!.pullRequestUrl ?? "", /discussions\/\d+$/);
    assert.deepEqual(value!.updated, ["README.md"]);
    assert.equal((await hub.refs("me/secret")).branches.main, main);
    assert.deepEqual(await hub.readFile("me/secret", value!.commitOid, "README.md"), new TextEncoder().encode("# proposed\n"));
  } finally {
    await hub.close();
  }
});
