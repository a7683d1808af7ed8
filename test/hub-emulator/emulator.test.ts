/**
 * The Hub emulator against the REAL @huggingface/hub client (never mocked): what the client sends
 * must be accepted, and what the emulator answers must be what the client reads
 * (/work/shared/docs/hub-protocol.md).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import {
  commit,
  createBranch,
  createRepo,
  datasetInfo,
  deleteBranch,
  deleteRepo,
  downloadFile,
  fileDownloadInfo,
  HubApiError,
  listCommits,
  listFiles,
  modelInfo,
  pathsInfo,
  repoExists,
  snapshotDownload,
  uploadFiles,
  whoAmI,
} from "@huggingface/hub";
import { startHubEmulator, type HubEmulator } from "./index.ts";
import { startEmulatorCli } from "./start-emulator-cli.ts";

const TOKEN = "hf_emulator_test_token";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const gitSha1 = (bytes: Uint8Array) => createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
/** Deterministic pseudo-random bytes (incompressible, unlike a fill). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
const blob = (content: Uint8Array | string) => new Blob([content]);
/** Response JSON, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

async function rejectsWithStatus(promise: Promise<unknown>, status: number, message?: RegExp): Promise<HubApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HubApiError, `expected HubApiError, got ${String(error)}`);
    assert.equal(error.statusCode, status, error.message);
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected a ${status} rejection`);
}

describe("hub emulator with the real @huggingface/hub client", () => {
  let storage: string;
  let hub: HubEmulator;
  let creds: { hubUrl: string; accessToken: string };

  before(async () => {
    storage = await mkdtemp(join(tmpdir(), "hub-emulator-"));
    hub = await startHubEmulator({ storage });
    creds = { hubUrl: hub.url, accessToken: TOKEN };
  });
  after(async () => {
    await hub.close();
    await rm(storage, { recursive: true, force: true });
  });

  it("creates repos with an initial .gitattributes commit, 409 on repeat; whoAmI and repoExists", async () => {
    const out = await createRepo({ ...creds, repo: "datasets/alice/created" });
    assert.equal(out.repoUrl, `${hub.url}/datasets/alice/created`);
    const commits = await hub.commits("alice/created");
    assert.equal(commits.length, 1);
    const files = await hub.files("alice/created", "main");
    assert.deepEqual(Object.keys(files), [".gitattributes"]);
    const attributes = new TextDecoder().decode(await hub.readFile("alice/created", "main", ".gitattributes"));
    for (const pattern of ["*.parquet", "*.onnx", "*.jpg", "*.png", "*.npy"]) assert.match(attributes, new RegExp(`^\\${pattern} filter=lfs`, "m"));
    await rejectsWithStatus(createRepo({ ...creds, repo: "datasets/alice/created" }), 409);
    assert.equal(await repoExists({ ...creds, repo: "datasets/alice/created" }), true);
    assert.equal(await repoExists({ ...creds, repo: "datasets/alice/missing" }), false);
    await createRepo({ ...creds, repo: "datasets/alice/doomed" });
    await deleteRepo({ ...creds, repo: "datasets/alice/doomed" });
    assert.equal(await repoExists({ ...creds, repo: "datasets/alice/doomed" }), false);
    await rejectsWithStatus(deleteRepo({ ...creds, repo: "datasets/alice/doomed" }), 404);
    const me = await whoAmI(creds);
    assert.equal(me.name, "tester");
    assert.equal(me.auth.type, "access_token");
  });

  it("commits regular and LFS files in one commit, splitting them as preupload says", async () => {
    const repo = "datasets/alice/upload";
    await createRepo({ ...creds, repo });
    const parquet = bytes(3000, 1);
    const big = bytes(10 * 1024 * 1024, 2); // >= 10 MiB: LFS whatever its name
    const png = bytes(700, 3);
    hub.clearRequests();
    const out = await uploadFiles({
      ...creds,
      repo,
      commitTitle: "add data",
      files: [
        { path: "README.md", content: blob("---\nlicense: cc-by-4.0\ntags: [faces]\n---\n# Hi\n") },
        { path: "data/train-00000-of-00001.parquet", content: blob(parquet) },
        { path: "notes/big.txt", content: blob(big) },
        { path: "images/a.png", content: blob(png) },
        { path: "meta/small.json", content: blob('{"a":1}') },
      ],
    });
    assert.ok(out);
    assert.match(out.commit.oid, /^[0-9a-f]{40}$/);
    assert.equal(out.commit.url, `${hub.url}/datasets/alice/upload/commit/${out.commit.oid}`);
    const files = await hub.files("alice/upload", "main");
    assert.deepEqual(
      Object.fromEntries(Object.entries(files).map(([p, f]) => [p, f.lfs])),
      { ".gitattributes": false, "README.md": false, "data/train-00000-of-00001.parquet": true, "images/a.png": true, "meta/small.json": false, "notes/big.txt": true },
    );
    assert.equal(files["notes/big.txt"]!.sha256, sha256(big));
    assert.equal(files["data/train-00000-of-00001.parquet"]!.size, parquet.byteLength);
    assert.deepEqual(await hub.readFile("alice/upload", "main", "images/a.png"), png);
    const commits = await hub.commits("alice/upload");
    assert.equal(commits.length, 2);
    assert.equal(commits[0]!.title, "add data");
    assert.equal(commits[0]!.id, out.commit.oid);
    // Three LFS PUTs to the signed URLs, none carrying the token; one commit call.
    const puts = hub.requests.filter((r) => r.method === "PUT");
    assert.equal(puts.length, 3);
    assert.ok(puts.every((r) => r.path.startsWith("/__lfs/upload/") && r.authorization === undefined && r.status === 200));
    assert.equal(hub.requests.filter((r) => r.path.startsWith("/api/datasets/alice/upload/commit/main")).length, 1);
    assert.ok(hub.requests.filter((r) => r.authorization).every((r) => r.authorization === "Bearer <redacted>"));
    assert.ok(!JSON.stringify(hub.requests).includes(TOKEN));

    // Same LFS content again: the batch says "already stored", so no PUT.
    hub.clearRequests();
    await uploadFiles({ ...creds, repo, files: [{ path: "data/copy.parquet", content: blob(parquet) }] });
    assert.equal(hub.requests.filter((r) => r.method === "PUT").length, 0);
    assert.equal((await hub.files("alice/upload", "main"))["data/copy.parquet"]!.lfs, true);
  });

  it("downloads whole files and byte ranges with the headers the clients read", async () => {
    const content = bytes(5000, 4);
    const sha = await hub.seed({ repo: "alice/dl", files: { "x.parquet": content, "r.txt": "hello world", "empty.txt": "" } });
    const whole = await downloadFile({ ...creds, repo: "datasets/alice/dl", path: "x.parquet" });
    assert.ok(whole);
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), content);
    assert.deepEqual(new Uint8Array(await whole.slice(100, 1100).arrayBuffer()), content.subarray(100, 1100));
    assert.equal(await downloadFile({ ...creds, repo: "datasets/alice/dl", path: "nope.bin" }), null);

    const info = await fileDownloadInfo({ ...creds, repo: "datasets/alice/dl", path: "x.parquet" });
    assert.ok(info);
    assert.equal(info.size, 5000);
    assert.equal(info.etag, `"${sha256(content)}"`);
    const regularInfo = await fileDownloadInfo({ ...creds, repo: "datasets/alice/dl", path: "r.txt" });
    assert.equal(regularInfo?.etag, `"${gitSha1(Buffer.from("hello world"))}"`);

    const url = `${hub.url}/datasets/alice/dl/resolve/main/x.parquet`;
    const tail = await fetch(url, { headers: { Range: "bytes=-10" } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get("content-range"), "bytes 4990-4999/5000");
    assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), content.subarray(4990));
    const open = await fetch(url, { headers: { Range: "bytes=4000-" } });
    assert.equal(open.headers.get("content-range"), "bytes 4000-4999/5000");
    assert.equal((await open.arrayBuffer()).byteLength, 1000);
    const bad = await fetch(url, { headers: { Range: "bytes=5000-6000" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */5000");
    assert.ok(bad.headers.get("x-request-id"));
    assert.match((await json(bad)).error, /Range not satisfiable/);

    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("x-repo-commit"), sha);
    assert.equal(head.headers.get("x-linked-etag"), `"${sha256(content)}"`);
    assert.equal(head.headers.get("x-linked-size"), "5000");
    assert.equal(head.headers.get("content-length"), "5000");
    assert.equal(head.headers.get("accept-ranges"), "bytes");

    const empty = await fetch(`${hub.url}/datasets/alice/dl/resolve/main/empty.txt`, { headers: { Range: "bytes=0-0" } });
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get("content-range"), "bytes */0");

    for (const [path, code] of [
      ["/datasets/alice/dl/resolve/main/missing.txt", "EntryNotFound"],
      ["/datasets/alice/dl/resolve/nobranch/r.txt", "RevisionNotFound"],
      ["/datasets/alice/nothere/resolve/main/r.txt", "RepoNotFound"],
    ] as const) {
      const res = await fetch(hub.url + path);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("x-error-code"), code);
      assert.equal(typeof (await json(res)).error, "string");
    }
    // raw serves the git blob: the LFS pointer.
    const raw = await (await fetch(`${hub.url}/datasets/alice/dl/raw/main/x.parquet`)).text();
    assert.equal(raw, `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(content)}\nsize 5000\n`);
  });

  it("round-trips paths with spaces and non-ASCII characters", async () => {
    const repo = "datasets/alice/names";
    await createRepo({ ...creds, repo });
    const path = "people/Zoë Saldaña/photo 1.jpg";
    await uploadFiles({ ...creds, repo, files: [{ path, content: blob(bytes(300, 12)) }, { path: "notes/ünï code.txt", content: blob("ok") }] });
    const file = await downloadFile({ ...creds, repo, path });
    assert.deepEqual(new Uint8Array(await file!.arrayBuffer()), bytes(300, 12));
    const listed = [];
    for await (const e of listFiles({ ...creds, repo, path: "people/Zoë Saldaña" })) listed.push(e.path);
    assert.deepEqual(listed, [path]);
    assert.equal((await hub.files("alice/names", "main"))[path]!.lfs, true);
    assert.equal((await hub.files("alice/names", "main"))["notes/ünï code.txt"]!.lfs, false);
  });

  it("pages tree listings through Link headers; recursive, path prefix, expand; pathsInfo", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`images/id${i % 3}/img${String(i).padStart(2, "0")}.jpg`] = `jpeg ${i}`;
    const first = await hub.seed({ repo: "alice/tree", files, message: "images" });
    const second = await hub.seed({ repo: "alice/tree", files: { "README.md": "# readme\n" }, message: "readme" });
    hub.clearRequests();
    const all = [];
    for await (const entry of listFiles({ ...creds, repo: "datasets/alice/tree", recursive: true })) all.push(entry);
    const treeCalls = hub.requests.filter((r) => r.path.startsWith("/api/datasets/alice/tree/tree/"));
    assert.ok(treeCalls.length >= 4, `expected paging, got ${treeCalls.length} pages`);
    assert.deepEqual(
      all.filter((e) => e.type === "directory").map((e) => e.path),
      ["images", "images/id0", "images/id1", "images/id2"],
    );
    assert.equal(all.filter((e) => e.type === "file").length, 14);
    const img = all.find((e) => e.path === "images/id1/img04.jpg")!;
    assert.equal(img.size, 6);
    assert.equal(img.lfs?.oid, sha256(Buffer.from("jpeg 4")));
    assert.equal(img.lfs?.size, 6);

    const top = [];
    for await (const entry of listFiles({ ...creds, repo: "datasets/alice/tree" })) top.push(entry.path);
    assert.deepEqual(top, [".gitattributes", "README.md", "images"]);
    const sub = [];
    for await (const entry of listFiles({ ...creds, repo: "datasets/alice/tree", path: "images/id2", expand: true })) sub.push(entry);
    assert.deepEqual(sub.map((e) => e.path), ["images/id2/img02.jpg", "images/id2/img05.jpg", "images/id2/img08.jpg", "images/id2/img11.jpg"]);
    assert.ok(sub.every((e) => e.lastCommit?.id === first && e.lastCommit.title === "images"));

    const infos = await pathsInfo({ ...creds, repo: "datasets/alice/tree", paths: ["README.md", "images/id0", "nope.txt"], expand: true });
    assert.deepEqual(infos.map((i) => [i.path, i.type]), [["README.md", "file"], ["images/id0", "directory"]]);
    assert.equal(infos[0]!.oid, gitSha1(Buffer.from("# readme\n")));
    assert.equal(infos[0]!.lastCommit?.id, second);
    assert.equal(infos[1]!.lastCommit?.id, first);

    const commits = [];
    for await (const c of listCommits({ ...creds, repo: "datasets/alice/tree", batchSize: 2 })) commits.push(c.title);
    assert.deepEqual(commits, ["readme", "images", "initial commit"]);
  });

  it("datasetInfo answers sha and asked fields; cardData from the README front matter", async () => {
    const sha = await hub.seed({ repo: "alice/info", files: { "README.md": "---\nlicense: mit\ntags:\n- faces\n---\nbody\n" } });
    const info = await datasetInfo({ ...creds, name: "alice/info", additionalFields: ["sha"] });
    assert.equal(info.sha, sha);
    assert.equal(info.name, "alice/info");
    assert.equal(info.private, false);
    const full = await json(await fetch(`${hub.url}/api/datasets/alice/info`));
    assert.deepEqual(full.cardData, { license: "mit", tags: ["faces"] });
    assert.deepEqual(full.siblings, [{ rfilename: ".gitattributes" }, { rfilename: "README.md" }]);
    assert.equal(full.sha, sha);
    const withBlobs = await json(await fetch(`${hub.url}/api/datasets/alice/info/revision/${sha}?blobs=True`));
    assert.equal(withBlobs.siblings[1].blobId, gitSha1(Buffer.from("---\nlicense: mit\ntags:\n- faces\n---\nbody\n")));
    const narrow = await json(await fetch(`${hub.url}/api/datasets/alice/info/revision/main?expand=private`));
    assert.deepEqual(Object.keys(narrow).sort(), ["_id", "id", "private"]);
  });

  it("refuses a stale parentCommit with 412 and leaves the repo unchanged; concurrent same-parent commits: one wins", async () => {
    const base = await hub.seed({ repo: "alice/race", files: { "a.txt": "a" } });
    const moved = await hub.seed({ repo: "alice/race", files: { "b.txt": "b" } });
    const before = await hub.commits("alice/race");
    await rejectsWithStatus(
      uploadFiles({ ...creds, repo: "datasets/alice/race", parentCommit: base, files: [{ path: "c.parquet", content: blob(bytes(100, 9)) }] }),
      412,
    );
    assert.deepEqual(await hub.commits("alice/race"), before);
    assert.equal((await hub.files("alice/race", "main"))["c.parquet"], undefined);

    const results = await Promise.allSettled(
      [1, 2, 3].map((i) => uploadFiles({ ...creds, repo: "datasets/alice/race", parentCommit: moved, files: [{ path: `r${i}.txt`, content: blob(String(i)) }] })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") assert.equal((r.reason as HubApiError).statusCode, 412);
    const after = await hub.commits("alice/race");
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(after[0]!.parents, [moved]);
  });

  it("opens pull requests as refs/pr/N without moving the branch", async () => {
    const head = await hub.seed({ repo: "alice/pr", files: { "a.txt": "a" } });
    const out = await uploadFiles({ ...creds, repo: "datasets/alice/pr", isPullRequest: true, files: [{ path: "pr.txt", content: blob("from pr") }] });
    assert.equal(out?.pullRequestUrl, `${hub.url}/datasets/alice/pr/discussions/1`);
    assert.equal((await hub.refs("alice/pr")).branches.main, head);
    const res = await fetch(`${hub.url}/datasets/alice/pr/resolve/${encodeURIComponent("refs/pr/1")}/pr.txt`);
    assert.equal(await res.text(), "from pr");
    assert.equal(res.headers.get("x-repo-commit"), out?.commit.oid);
    const listed = [];
    for await (const e of listFiles({ ...creds, repo: "datasets/alice/pr", revision: "refs/pr/1" })) listed.push(e.path);
    assert.ok(listed.includes("pr.txt"));
    const refs = await json(await fetch(`${hub.url}/api/datasets/alice/pr/refs?include_prs=1`));
    assert.deepEqual(refs.pullRequests, [{ name: "1", ref: "refs/pr/1", targetCommit: out?.commit.oid }]);
    // A second PR gets the next number.
    const second = await uploadFiles({ ...creds, repo: "datasets/alice/pr", isPullRequest: true, files: [{ path: "pr2.txt", content: blob("2") }] });
    assert.equal(second?.pullRequestUrl, `${hub.url}/datasets/alice/pr/discussions/2`);
  });

  it("manages tags through plain fetch and branches through the client", async () => {
    const sha = await hub.seed({ repo: "alice/tags", files: { "v.txt": "one" } });
    const post = (rev: string, body: unknown) =>
      fetch(`${hub.url}/api/datasets/alice/tags/tag/${encodeURIComponent(rev)}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    assert.equal((await post("main", { tag: "v1.0", message: "first" })).status, 200);
    assert.equal((await post("main", { tag: "v1.0" })).status, 409);
    const unknown = await post("nosuchrev", { tag: "v2" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("x-error-code"), "RevisionNotFound");
    assert.equal((await post("main", { tag: "v1.1" })).status, 200);
    const anonymous = await fetch(`${hub.url}/api/datasets/alice/tags/tag/main`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tag: "v9" }),
    });
    assert.equal(anonymous.status, 401);
    await hub.seed({ repo: "alice/tags", files: { "v.txt": "two" } });
    assert.equal(await (await fetch(`${hub.url}/datasets/alice/tags/resolve/v1.0/v.txt`)).text(), "one");
    const refs = await json(await fetch(`${hub.url}/api/datasets/alice/tags/refs`));
    assert.deepEqual(refs.tags.map((t: { name: string; targetCommit: string }) => [t.name, t.targetCommit]), [["v1.0", sha], ["v1.1", sha]]);
    assert.deepEqual(refs.converts, []);
    const del = await fetch(`${hub.url}/api/datasets/alice/tags/tag/v1.0`, { method: "DELETE", headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(del.status, 200);
    assert.deepEqual(Object.keys((await hub.refs("alice/tags")).tags), ["v1.1"]);

    await createBranch({ ...creds, repo: "datasets/alice/tags", branch: "release/v1", revision: "v1.1" });
    await rejectsWithStatus(createBranch({ ...creds, repo: "datasets/alice/tags", branch: "release/v1" }), 409);
    assert.equal((await hub.refs("alice/tags")).branches["release/v1"], sha);
    // A branch with a slash works on tree (unencoded) and resolve (encoded).
    const listed = [];
    for await (const e of listFiles({ ...creds, repo: "datasets/alice/tags", revision: "release/v1" })) listed.push(e.path);
    assert.deepEqual(listed, [".gitattributes", "v.txt"]);
    await uploadFiles({ ...creds, repo: "datasets/alice/tags", branch: "release/v1", files: [{ path: "w.txt", content: blob("w") }] });
    assert.equal(await (await fetch(`${hub.url}/datasets/alice/tags/resolve/release%2Fv1/w.txt`)).text(), "w");
    await deleteBranch({ ...creds, repo: "datasets/alice/tags", branch: "release/v1" });
    assert.equal((await hub.refs("alice/tags")).branches["release/v1"], undefined);
  });

  it("hides private repos from requests without a valid token", async () => {
    await createRepo({ ...creds, repo: "datasets/alice/secret", private: true });
    await uploadFiles({ ...creds, repo: "datasets/alice/secret", files: [{ path: "s.txt", content: blob("s") }] });
    assert.equal(await repoExists({ hubUrl: hub.url, repo: "datasets/alice/secret" }), false);
    const anonymous = await fetch(`${hub.url}/datasets/alice/secret/resolve/main/s.txt`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("x-error-code"), "RepoNotFound");
    await rejectsWithStatus(datasetInfo({ hubUrl: hub.url, name: "alice/secret" }), 401);
    const file = await downloadFile({ ...creds, repo: "datasets/alice/secret", path: "s.txt" });
    assert.equal(await file?.text(), "s");
    const info = await datasetInfo({ ...creds, name: "alice/secret" });
    assert.equal(info.private, true);
  });

  it("enforces auth, content types, the header line and uploaded LFS objects on writes", async () => {
    await hub.seed({ repo: "alice/strict", files: { "a.txt": "a" } });
    const commitUrl = `${hub.url}/api/datasets/alice/strict/commit/main`;
    const header = JSON.stringify({ key: "header", value: { summary: "s" } });
    const send = (body: string, headers: Record<string, string>) => fetch(commitUrl, { method: "POST", headers, body });
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const noAuth = await send(header, { "Content-Type": "application/x-ndjson" });
    assert.equal(noAuth.status, 401);
    assert.deepEqual(await noAuth.json(), { error: "Invalid credentials in Authorization header" });
    assert.equal((await send(header, { ...auth, "Content-Type": "application/json" })).status, 415);
    const noHeader = await send(JSON.stringify({ key: "file", value: { path: "x.txt", content: "eA==", encoding: "base64" } }), { ...auth, "Content-Type": "application/x-ndjson" });
    assert.equal(noHeader.status, 400);
    const lfs = JSON.stringify({ key: "lfsFile", value: { path: "x.parquet", algo: "sha256", oid: "a".repeat(64), size: 3 } });
    const unknownLfs = await send(`${header}\n${lfs}`, { ...auth, "Content-Type": "application/x-ndjson" });
    assert.equal(unknownLfs.status, 422);
    assert.match((await json(unknownLfs)).error, /never uploaded/);
    const regularParquet = JSON.stringify({ key: "file", value: { path: "y.parquet", content: "eA==", encoding: "base64" } });
    assert.equal((await send(`${header}\n${regularParquet}`, { ...auth, "Content-Type": "application/x-ndjson" })).status, 400);
    const evil = JSON.stringify({ key: "file", value: { path: "../x.txt", content: "eA==", encoding: "base64" } });
    assert.equal((await send(`${header}\n${evil}`, { ...auth, "Content-Type": "application/x-ndjson" })).status, 400);
    assert.equal((await hub.commits("alice/strict")).length, 2);

    const batch = await fetch(`${hub.url}/datasets/alice/strict.git/info/lfs/objects/batch`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(batch.status, 415);
    // A trailing slash on hubUrl gives "//api/...": no route may match it by accident.
    const doubled = await fetch(`${hub.url}//api/datasets/alice/strict/revision/main`);
    assert.equal(doubled.status, 404);
    const unknownRoute = await fetch(`${hub.url}/api/nothing/here`);
    assert.equal(unknownRoute.status, 404);
    assert.equal(typeof (await json(unknownRoute)).error, "string");

    // An upload whose bytes do not match the announced oid is refused and the object stays absent.
    const content = bytes(64, 5);
    const oid = sha256(content);
    const batchOk = await fetch(`${hub.url}/datasets/alice/strict.git/info/lfs/objects/batch`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/vnd.git-lfs+json" },
      body: JSON.stringify({ operation: "upload", transfers: ["basic", "multipart", "xet"], hash_algo: "sha_256", objects: [{ oid, size: 64 }] }),
    });
    const batchJson = await json(batchOk);
    assert.equal(batchJson.transfer, "basic");
    assert.equal(batchOk.headers.get("content-type"), "application/vnd.git-lfs+json");
    const href: string = batchJson.objects[0].actions.upload.href;
    assert.ok(href.startsWith(`${hub.url}/__lfs/upload/`));
    assert.equal((await fetch(href, { method: "PUT", body: bytes(64, 6) })).status, 400);
    assert.equal((await fetch(href.replace(/sig=\w+/, "sig=00"), { method: "PUT", body: content })).status, 403);
    assert.equal((await fetch(href, { method: "PUT", body: content })).status, 200);
    const lfsOk = JSON.stringify({ key: "lfsFile", value: { path: "z.bin", algo: "sha256", oid, size: 64 } });
    const landed = await send(`${header}\n${lfsOk}`, { ...auth, "Content-Type": "application/x-ndjson" });
    assert.equal(landed.status, 200);
    assert.deepEqual(await hub.readFile("alice/strict", "main", "z.bin"), content);
  });

  it("only accepts the configured tokens when `tokens` is set", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hub-emulator-tokens-"));
    const strict = await startHubEmulator({ storage: dir, tokens: { hf_good: "bob", hf_reader: { user: "rita", role: "read" } } });
    try {
      await rejectsWithStatus(whoAmI({ hubUrl: strict.url, accessToken: "hf_bad" }), 401, /Invalid credentials in Authorization header/);
      assert.equal((await whoAmI({ hubUrl: strict.url, accessToken: "hf_good" })).name, "bob");
      await createRepo({ hubUrl: strict.url, accessToken: "hf_good", repo: "datasets/bob/x" });
      assert.deepEqual(Object.keys(await strict.refs("bob/x")).sort(), ["branches", "tags"]);
      // A read-only token reads (private repos too) and is refused (403) on every write.
      const reader = { hubUrl: strict.url, accessToken: "hf_reader" };
      const me = await whoAmI(reader);
      assert.equal(me.name, "rita");
      assert.equal(me.type === "user" && me.auth.accessToken?.role, "read");
      await rejectsWithStatus(createRepo({ ...reader, repo: "datasets/rita/x" }), 403, /write access/);
      await rejectsWithStatus(uploadFiles({ ...reader, repo: "datasets/bob/x", files: [{ path: "r.txt", content: blob("r") }] }), 403);
      const settings = await fetch(`${strict.url}/api/datasets/bob/x/settings`, {
        method: "PUT",
        headers: { Authorization: "Bearer hf_reader", "Content-Type": "application/json" },
        body: JSON.stringify({ private: true }),
      });
      assert.equal(settings.status, 403);
      assert.equal((await strict.settings("bob/x")).private, false);
      assert.equal((await datasetInfo({ ...reader, name: "bob/x" })).name, "bob/x");
    } finally {
      await strict.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("injects 429 with Retry-After, 503, dropped connections and mid-body drops", async () => {
    const content = bytes(100_000, 7);
    await hub.seed({ repo: "alice/faults", files: { "f.parquet": content } });
    const url = `${hub.url}/datasets/alice/faults/resolve/main/f.parquet`;
    hub.clearRequests();
    hub.setFaults({ rate: 1, kinds: ["429"], retryAfterSeconds: 0.05, maxFaults: 1 });
    const limited = await fetch(url);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "0.05");
    assert.ok(limited.headers.get("x-request-id"));
    assert.equal(typeof (await json(limited)).error, "string");
    assert.equal((await fetch(url)).status, 200, "maxFaults: 1 lets the next request through");

    hub.setFaults({ rate: 1, kinds: ["503"], match: /^GET \/api\// });
    assert.equal((await fetch(url)).status, 200, "match limits faults to API routes");
    await rejectsWithStatus(datasetInfo({ ...creds, name: "alice/faults" }), 503);

    hub.setFaults({ rate: 1, kinds: ["drop"], match: /resolve\// });
    const cut = await fetch(url);
    assert.equal(cut.status, 200);
    const reader = cut.body!.getReader();
    let received = 0;
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
      }
    });
    assert.ok(received > 0 && received < content.byteLength, `received ${received} of ${content.byteLength}`);
    // What a resuming client does next: ask for the rest with a Range (this time faults are off).
    hub.setFaults(null);
    const restResponse = await fetch(url, { headers: { Range: `bytes=${received}-` } });
    assert.equal(restResponse.status, 206);
    assert.equal(received + (await restResponse.arrayBuffer()).byteLength, content.byteLength);
    hub.setFaults({ rate: 1, kinds: ["drop"], match: /^GET \/api\// });
    await assert.rejects(fetch(`${hub.url}/api/datasets/alice/faults`));
    hub.setFaults(null);
    const logged = hub.requests.map((r) => r.fault ?? "-");
    assert.deepEqual(logged, ["429", "-", "-", "503", "drop", "-", "drop"]);
    assert.equal(hub.requests[5]!.range, `bytes=${received}-`);
    assert.equal(hub.requests[4]!.status, 200, "a mid-body drop happens after the headers");
    assert.equal(hub.requests.at(-1)!.status, 0, "other drops happen before any answer");

    hub.setFaults({ rate: 1, kinds: ["slow"], slowMs: 20 });
    assert.equal((await fetch(url)).status, 200);
    assert.equal(hub.requests.at(-1)!.fault, "slow");
    hub.setFaults(null);

    // Deterministic: the same plan and seed fault the same requests.
    const pattern = async () => {
      hub.setFaults({ rate: 0.5, kinds: ["500", "429"], seed: 42 });
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${hub.url}/api/datasets/alice/faults`)).status);
      return statuses;
    };
    const first = await pattern();
    assert.deepEqual(await pattern(), first);
    assert.ok(first.includes(200) && first.some((s) => s !== 200), first.join(","));
    hub.setFaults(null);
  });

  it("stalls: holds the socket without answering until the client gives up; stalled writes never land; close() ends stalls at once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hub-emulator-stall-"));
    const stalling = await startHubEmulator({ storage: dir });
    try {
      const content = bytes(100_000, 12);
      await stalling.seed({ repo: "alice/stall", files: { "f.parquet": content } });
      const before = await stalling.commits("alice/stall");
      const fileUrl = `${stalling.url}/datasets/alice/stall/resolve/main/f.parquet`;

      // Before any answer: no status, no headers; the client's own timeout is what ends it.
      stalling.setFaults({ rate: 1, kinds: ["stall"], match: /^POST \/api\/datasets\/alice\/stall\/commit\// });
      const ndjson = [
        JSON.stringify({ key: "header", value: { summary: "stalled" } }),
        JSON.stringify({ key: "file", value: { path: "x.txt", content: "eA==", encoding: "base64" } }),
      ].join("\n");
      const started = Date.now();
      await assert.rejects(
        fetch(`${stalling.url}/api/datasets/alice/stall/commit/main`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/x-ndjson" },
          body: ndjson,
          signal: AbortSignal.timeout(300),
        }),
        { name: "TimeoutError" },
      );
      assert.ok(Date.now() - started >= 290, "held until the client gave up");
      assert.deepEqual(
        stalling.requests.map((r) => [r.method, r.fault, r.status]),
        [["POST", "stall", 0]],
      );
      assert.deepEqual(await stalling.commits("alice/stall"), before, "a stalled commit is never processed");

      // A download: headers and about half the body, then nothing more.
      stalling.setFaults({ rate: 1, kinds: ["stall"], match: /resolve\//, maxFaults: 1 });
      const controller = new AbortController();
      const response = await fetch(fileUrl, { signal: controller.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      let received = 0;
      for (;;) {
        const next = await Promise.race([reader.read(), new Promise<"quiet">((resolve) => setTimeout(() => resolve("quiet"), 300))]);
        if (next === "quiet") break;
        assert.ok(!next.done, "a stalled body never ends");
        received += next.value.byteLength;
      }
      assert.equal(received, 50_000);
      controller.abort();
      assert.equal((await fetch(fileUrl)).status, 200, "maxFaults: 1 lets the next download through");

      // stallMs: the socket is cut after that long, so even a client without timeouts gets an error.
      stalling.setFaults({ rate: 1, kinds: ["stall"], stallMs: 100, match: /^GET \/api\// });
      const cutStart = Date.now();
      await assert.rejects(fetch(`${stalling.url}/api/datasets/alice/stall`));
      assert.ok(Date.now() - cutStart >= 90, "cut after stallMs, not before");

      // close() with stalled requests in flight (one before its headers, one mid-body) returns at once.
      stalling.setFaults({ rate: 1, kinds: ["stall"] });
      stalling.clearRequests();
      const pending = [fetch(`${stalling.url}/api/datasets/alice/stall`), fetch(fileUrl)].map((p) => p.then((r) => r.arrayBuffer()));
      pending.forEach((p) => p.catch(() => undefined));
      for (let waited = 0; stalling.requests.length < 2; waited += 10) {
        assert.ok(waited < 5000, "both requests reached the emulator");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const closing = Date.now();
      await stalling.close();
      assert.ok(Date.now() - closing < 1000, `close() took ${Date.now() - closing} ms`);
      for (const p of pending) await assert.rejects(p);
    } finally {
      await stalling.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("PUT settings sets gated and private strictly, for write tokens only; the info route reports both", async () => {
    await createRepo({ ...creds, repo: "datasets/alice/gated" });
    const url = `${hub.url}/api/datasets/alice/gated/settings`;
    const jsonAuth = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
    const put = (body: unknown, headers: Record<string, string> = jsonAuth) =>
      fetch(url, { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
    const infoOf = async () => {
      const info = await datasetInfo({ ...creds, name: "alice/gated" });
      return { gated: info.gated, private: info.private };
    };
    assert.deepEqual(await infoOf(), { gated: false, private: false });

    const manual = await put({ gated: "manual", private: true });
    assert.equal(manual.status, 200);
    assert.deepEqual(await manual.json(), { private: true, gated: "manual" });
    assert.deepEqual(await infoOf(), { gated: "manual", private: true });
    const narrow = await json(await fetch(`${hub.url}/api/datasets/alice/gated?expand=gated`, { headers: { Authorization: `Bearer ${TOKEN}` } }));
    assert.deepEqual(narrow.gated, "manual", "expand=gated answers it");

    const refused: [unknown, RegExp][] = [
      [{ gated: true }, /"gated" must be "auto", "manual" or false, got true/],
      [{ gated: "yes" }, /"gated" must be/],
      [{ gated: null }, /"gated" must be/],
      [{ private: "false" }, /"private" must be a boolean, got "false"/],
      [{ private: 0 }, /"private" must be a boolean/],
      [{}, /Nothing to update/],
      [{ gated: "auto", discussionsDisabled: true }, /Unsupported setting\(s\) "discussionsDisabled"/],
      [[{ gated: "auto" }], /must be a JSON object/],
      ["{not json", /not valid JSON/],
    ];
    for (const [body, message] of refused) {
      const res = await put(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.match((await json(res)).error, message);
    }
    assert.deepEqual(await hub.settings("alice/gated"), { private: true, gated: "manual" }, "a refused body changes nothing, not even its valid part");

    assert.equal((await put({ gated: "auto" }, { "Content-Type": "application/json" })).status, 401);
    assert.equal((await put({ gated: "auto" }, { ...jsonAuth, Authorization: "Bearer nope" })).status, 401);
    assert.equal((await put({ gated: "auto" }, { ...jsonAuth, "Content-Type": "text/plain" })).status, 415);
    const missing = await fetch(`${hub.url}/api/datasets/alice/nothing-here/settings`, { method: "PUT", headers: jsonAuth, body: '{"gated":"auto"}' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-error-code"), "RepoNotFound");

    assert.equal((await put({ gated: "auto" })).status, 200);
    assert.deepEqual(await infoOf(), { gated: "auto", private: true }, "only the given setting changes");
    assert.equal((await put({ gated: false, private: false })).status, 200);
    assert.deepEqual(await infoOf(), { gated: false, private: false });
    assert.equal(await repoExists({ hubUrl: hub.url, repo: "datasets/alice/gated" }), true, "public again");
  });

  it("gives a new repo its namespace's default visibility when createRepo does not say", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hub-emulator-visibility-"));
    const org = await startHubEmulator({ storage: dir, privateNamespaces: ["acme"] });
    const c = { hubUrl: org.url, accessToken: TOKEN };
    try {
      await createRepo({ ...c, repo: "datasets/acme/unsaid" });
      await createRepo({ ...c, repo: "datasets/acme/public", private: false });
      await createRepo({ ...c, repo: "datasets/alice/unsaid" });
      await createRepo({ ...c, repo: "datasets/alice/private", private: true });
      assert.deepEqual((await org.settings("acme/unsaid")).private, true, "acme defaults to private");
      assert.deepEqual((await org.settings("acme/public")).private, false, "an explicit private: false wins");
      assert.deepEqual((await org.settings("alice/unsaid")).private, false, "other namespaces default to public");
      assert.deepEqual((await org.settings("alice/private")).private, true);
      assert.equal(await repoExists({ hubUrl: org.url, repo: "datasets/acme/unsaid" }), false, "hidden from anonymous readers");
      assert.equal((await datasetInfo({ ...c, name: "acme/unsaid" })).private, true);

      // Python's create_repo sends `private` (left out when None); the JS client sends `visibility`.
      const create = (body: Record<string, unknown>) =>
        fetch(`${org.url}/api/repos/create`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify({ type: "dataset", organization: "acme", ...body }) });
      assert.equal((await create({ name: "py-unsaid" })).status, 200);
      assert.equal((await create({ name: "py-public", private: false })).status, 200);
      assert.equal((await org.settings("acme/py-unsaid")).private, true);
      assert.equal((await org.settings("acme/py-public")).private, false);
      for (const body of [{ name: "bad1", visibility: "secret" }, { name: "bad2", private: "yes" }, { name: "bad3", visibility: "public", private: true }]) {
        const res = await create(body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match((await json(res)).error, /visibility|private/);
      }
      await org.seed({ repo: "acme/seeded", files: { "a.txt": "a" } });
      assert.equal((await org.settings("acme/seeded")).private, true, "seed follows the namespace default too");
    } finally {
      await org.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("snapshotDownload fills a Python-layout cache; tampered listings reach the client", async () => {
    const parquet = bytes(2048, 8);
    const sha = await hub.seed({ repo: "alice/snap", files: { "data/x.parquet": parquet, "README.md": "# snap\n", "a/b/c.txt": "deep" } });
    const cacheDir = await mkdtemp(join(tmpdir(), "hub-emulator-cache-"));
    try {
      const folder = await snapshotDownload({ ...creds, repo: "datasets/alice/snap", cacheDir });
      assert.equal(folder, join(cacheDir, "datasets--alice--snap", "snapshots", sha));
      assert.deepEqual(new Uint8Array(await readFile(join(folder, "data/x.parquet"))), parquet);
      assert.equal(await readFile(join(folder, "a/b/c.txt"), "utf8"), "deep");
      assert.equal(await readlink(join(folder, "data/x.parquet")), `../../../blobs/${sha256(parquet)}`);
      assert.equal(await readFile(join(cacheDir, "datasets--alice--snap", "refs", "main"), "utf8"), sha);

      hub.setListingTamper((entries) => [...entries, { type: "file", oid: "0".repeat(40), size: 1, path: "../escape.txt" }]);
      await assert.rejects(snapshotDownload({ ...creds, repo: "datasets/alice/snap", cacheDir }), /cannot contain a "\.\." path segment/);
    } finally {
      hub.setListingTamper(null);
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("serves model repos without the datasets/ prefix", async () => {
    await createRepo({ ...creds, repo: "alice/model" });
    const onnx = bytes(4096, 10);
    const out = await commit({
      ...creds,
      repo: "alice/model",
      title: "weights",
      operations: [{ operation: "addOrUpdate", path: "model.onnx", content: blob(onnx) }],
    });
    assert.equal((await hub.files("alice/model", "main", "model"))["model.onnx"]?.lfs, true);
    const info = await modelInfo({ ...creds, name: "alice/model", additionalFields: ["sha"] });
    assert.equal(info.sha, out?.commit.oid);
    const file = await downloadFile({ ...creds, repo: "alice/model", path: "model.onnx" });
    assert.deepEqual(new Uint8Array(await file!.arrayBuffer()), onnx);
  });

  it("keeps its state across a restart on the same storage", async () => {
    const sha = await hub.seed({ repo: "alice/persist", files: { "p.parquet": bytes(500, 11) }, tag: "v1" });
    await hub.close();
    // What a crash mid-commit leaves: a temp file and a commit object no ref points to.
    await writeFile(join(storage, "tmp", "half-written"), "x");
    await writeFile(join(storage, "repos", "datasets", "alice", "persist", "commits", `${"f".repeat(40)}.json`), "{");
    hub = await startHubEmulator({ storage });
    creds = { hubUrl: hub.url, accessToken: TOKEN };
    assert.deepEqual(await hub.refs("alice/persist"), { branches: { main: sha }, tags: { v1: sha } });
    assert.deepEqual(await readdir(join(storage, "tmp")), []);
    assert.equal((await hub.commits("alice/persist"))[0]!.id, sha);
    const file = await downloadFile({ ...creds, repo: "datasets/alice/persist", path: "p.parquet", revision: "v1" });
    assert.deepEqual(new Uint8Array(await file!.arrayBuffer()), bytes(500, 11));
    await rejectsWithStatus(createRepo({ ...creds, repo: "datasets/alice/persist" }), 409);
    // Earlier repos too, with their LFS objects still known to the batch API.
    hub.clearRequests();
    await uploadFiles({ ...creds, repo: "datasets/alice/persist", files: [{ path: "again.parquet", content: blob(bytes(500, 11)) }] });
    assert.equal(hub.requests.filter((r) => r.method === "PUT").length, 0);
  });
});

describe("npm run hub:emulator (test/hub-emulator/cli.ts)", () => {
  const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

  /** Spawns the CLI as `npm run hub:emulator` does, keeping what it prints. */
  function spawnCli(args: string[]) {
    const child = spawn(process.execPath, ["--import", "tsx", "test/hub-emulator/cli.ts", ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "" };
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out.stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out.stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, out, exited };
  }

  /** The CLI on a fresh storage folder, removed again by stop(). */
  async function startCli(args: string[]) {
    const storage = await mkdtemp(join(tmpdir(), "hub-emulator-cli-"));
    const cli = await startEmulatorCli({ args: ["--port", "0", "--storage", storage, ...args] }).catch(async (error: unknown) => {
      await rm(storage, { recursive: true, force: true });
      throw error;
    });
    const stop = async () => {
      const code = await cli.stop();
      await rm(storage, { recursive: true, force: true });
      return code;
    };
    return { url: cli.url, out: cli, faults: cli.faults, stop };
  }

  /** Status of each request, or "error" when the connection failed. */
  async function outcomes(url: string, n: number): Promise<(number | "error")[]> {
    const seen: (number | "error")[] = [];
    for (let i = 0; i < n; i++) {
      try {
        const res = await fetch(`${url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        seen.push(res.status);
      } catch {
        seen.push("error");
      }
    }
    return seen;
  }

  it("prints its URL, serves, and stops on SIGTERM", async () => {
    const cli = await startCli(["--token", "hf_cli:carol"]);
    try {
      assert.equal((await whoAmI({ hubUrl: cli.url, accessToken: "hf_cli" })).name, "carol");
      await rejectsWithStatus(whoAmI({ hubUrl: cli.url, accessToken: "hf_other" }), 401);
      assert.doesNotMatch(cli.out.stdout, /Injecting faults/, "no fault flags, no faults");
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });

  it("injects the faults its flags describe: kinds, rate, seed, match, Retry-After, stall time", async () => {
    const limited = await startCli(["--fault-rate", "1", "--fault-kinds", "429", "--retry-after", "0.25", "--fault-match", "^GET /api/whoami"]);
    try {
      assert.match(limited.out.stdout, /\nInjecting faults into 100% of requests: 429 \(seed 1, match \/\^GET \\\/api\\\/whoami\/, Retry-After 0\.25 s\)\n/);
      const res = await fetch(`${limited.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "0.25");
      assert.equal((await fetch(`${limited.url}/api/datasets/alice/none`)).status, 404, "--fault-match spares other routes");
    } finally {
      assert.equal(await limited.stop(), 0);
    }
    assert.equal(limited.out.stderr, "hub-emulator: fault 429 on GET /api/whoami-v2\n", "each fault is reported on stderr");

    // The same flags fault the same requests as the same FaultPlan in-process: the flags reach the plan.
    const kinds = ["500", "503", "drop", "stall"] as const;
    const mixed = await startCli(["--fault-rate", "0.5", "--fault-kinds", kinds.join(","), "--fault-seed", "4", "--stall-ms", "50"]);
    let fromCli: (number | "error")[];
    try {
      fromCli = await outcomes(mixed.url, 16);
    } finally {
      assert.equal(await mixed.stop(), 0);
    }
    const cliFaults = mixed.faults().map((f) => f.kind);
    assert.ok(mixed.faults().every((f) => f.method === "GET" && f.path === "/api/whoami-v2"));
    const dir = await mkdtemp(join(tmpdir(), "hub-emulator-plan-"));
    const reference = await startHubEmulator({ storage: dir });
    try {
      reference.setFaults({ rate: 0.5, kinds: [...kinds], seed: 4, stallMs: 50 });
      assert.deepEqual(fromCli, await outcomes(reference.url, 16));
      assert.deepEqual(cliFaults, reference.requests.map((r) => r.fault).filter(Boolean));
    } finally {
      await reference.close();
      await rm(dir, { recursive: true, force: true });
    }
    assert.ok(fromCli.includes(200) && fromCli.includes("error") && fromCli.some((s) => s === 500 || s === 503), fromCli.join(","));
    assert.ok(cliFaults.includes("stall") && cliFaults.includes("drop"), cliFaults.join(","));
  });

  it("--private-namespace makes that namespace's new repos private; --token ...:read is read-only", async () => {
    const cli = await startCli(["--private-namespace", "acme", "--token", "hf_writer:wendy", "--token", "hf_reader:rita:read"]);
    try {
      const writer = { hubUrl: cli.url, accessToken: "hf_writer" };
      await createRepo({ ...writer, repo: "datasets/acme/faces" });
      await createRepo({ ...writer, repo: "datasets/wendy/faces" });
      assert.equal((await datasetInfo({ ...writer, name: "acme/faces" })).private, true);
      assert.equal((await datasetInfo({ ...writer, name: "wendy/faces" })).private, false);
      assert.equal(await repoExists({ hubUrl: cli.url, repo: "datasets/acme/faces" }), false);
      await rejectsWithStatus(createRepo({ hubUrl: cli.url, accessToken: "hf_reader", repo: "datasets/rita/x" }), 403);
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });

  it("exits 2 naming the flag on bad flags", async () => {
    const storage = await mkdtemp(join(tmpdir(), "hub-emulator-cli-bad-"));
    const cases: [string[], RegExp][] = [
      [["--fault-rate", "1.5", "--fault-kinds", "429"], /--fault-rate must be a number within 0\.\.1, got "1\.5"/],
      [["--fault-rate", "0.1", "--fault-kinds", "429,teapot"], /--fault-kinds: unknown kind "teapot"/],
      [["--fault-rate", "0.1"], /--fault-rate needs --fault-kinds/],
      [["--fault-kinds", "429"], /--fault-kinds needs --fault-rate/],
      [["--fault-rate", "0.1", "--fault-kinds", "stall", "--stall-ms=-5"], /--stall-ms must be a number of milliseconds >= 0/],
      [["--fault-rate", "0.1", "--fault-kinds", "500", "--retry-after", "1"], /--retry-after tunes the "429" fault/],
      [["--fault-rate", "0.1", "--fault-kinds", "429", "--fault-match", "("], /--fault-match is not a valid regular expression/],
      [["--fault-rate", "0.1", "--fault-kinds", "429", "--fault-seed", "x"], /--fault-seed must be an integer/],
      [["--private-namespace", "a/b"], /--private-namespace must be a user or organization name/],
      [["--bogus"], /Unknown option '--bogus'/],
    ];
    try {
      await Promise.all(
        cases.map(async ([args, message]) => {
          const cli = spawnCli(["--storage", storage, "--port", "0", ...args]);
          const code = await cli.exited;
          assert.equal(code, 2, `${args.join(" ")}: ${cli.out.stderr}`);
          assert.match(cli.out.stderr, message);
          assert.equal(cli.out.stdout, "", "never started listening");
        }),
      );
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  });
});
