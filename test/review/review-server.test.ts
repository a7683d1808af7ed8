/**
 * `idclusters review`'s server on the real fixture release (built by `idclusters run`), run as
 * the CLI runs: it listens on 127.0.0.1 only; every route (page, assets, data, thumbnails, writes)
 * wants the per-launch token (401 without, 403 wrong); a Host that is not loopback is refused;
 * nothing but its own files and this build's thumbnails is served, whatever the path (traversal,
 * encoded traversal, absolute paths); writes are checked, written as a decisions file that
 * readOverrides reads, and refused when based on a stale version of the file; Ctrl-C stops it
 * and the saved decisions stay. Also: a clear error without a build, a busy port, and the static
 * copy's folder rule.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { createServer } from "node:net";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { readOverrides, type OverrideDecision } from "../../src/identities/index.ts";
import type { ReviewData } from "../../src/review/index.ts";
import { buildFixtureRelease, runIdclusters, SKIP_NO_FIXTURES, startReview, writeFixtureConfig, type FixtureBuild, type RunningReview } from "./review-fixture.ts";

let dir: string;
let build: FixtureBuild;
let review: RunningReview;

before(async () => {
  if (SKIP_NO_FIXTURES) return;
  dir = await mkdtemp(join(tmpdir(), "idclusters-review-server-"));
  build = await buildFixtureRelease(dir);
  review = await startReview(["--config", build.config, "--reviewer", "server-test"]);
});

after(async () => {
  await review?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request: the path goes out exactly as written (fetch would normalise `..`). */
function raw(path: string, options: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: options.host ?? "127.0.0.1", port: review.port, path, method: options.method ?? "GET", headers: { ...options.headers }, setHost: true },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const withToken = (path: string, token = review.token) => `${path}${path.includes("?") ? "&" : "?"}token=${token}`;

async function data(): Promise<ReviewData> {
  const answer = await raw(withToken("/api/data"));
  assert.equal(answer.status, 200, answer.body.toString());
  return JSON.parse(answer.body.toString()) as ReviewData;
}

function post(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return raw("/api/decisions", { method: "POST", headers: { "Content-Type": "application/json", "X-Review-Token": review.token, ...headers }, body: JSON.stringify(body) });
}

/** Rows of `data` by file name. */
function rowOf(d: ReviewData, file: string): number {
  const row = d.rows.file.indexOf(file);
  assert.ok(row >= 0, `${file} is in the build`);
  return row;
}

test("review without a build says which file is missing and what to run", { skip: SKIP_NO_FIXTURES }, async () => {
  const empty = await mkdtemp(join(tmpdir(), "idclusters-review-empty-"));
  try {
    await mkdir(join(empty, "source"));
    const config = await writeFixtureConfig(empty);
    const r = await runIdclusters(["review", "--config", config, "--port", "0"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /embeddings-index\.parquet is missing \(the embed index\): the work dir has no build yet; run idclusters run --config .*config\.yaml first/);
    assert.equal(r.stdout, "");
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test("the server listens on 127.0.0.1 only and prints a URL with a long random token", { skip: SKIP_NO_FIXTURES }, async () => {
  assert.match(review.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === "IPv4")
    .map((a) => a!.address);
  for (const address of others) {
    await assert.rejects(raw(withToken("/"), { host: address }), /ECONNREFUSED/, `not listening on ${address}`);
  }
  assert.match(review.stderr(), /names no clustering\.overrides: decisions go to .*config\.overrides\.yaml; add "clustering\.overrides: config\.overrides\.yaml"/);
});

test("every route wants the launch token: 401 without, 403 with a wrong one", { skip: SKIP_NO_FIXTURES }, async () => {
  const d = await data();
  const thumb = `/thumbs/${d.rows.sha[0]}.webp`;
  const wrong = "0".repeat(64);
  const routes = ["/", "/index.html", "/review.js", "/review.css", "/decisions.js", "/api/data", thumb, "/favicon.ico", "/nothing-here"];
  for (const path of routes) {
    assert.equal((await raw(path)).status, 401, `${path} without a token`);
    assert.equal((await raw(withToken(path, wrong))).status, 403, `${path} with a wrong token`);
    assert.equal((await raw(withToken(path, review.token.slice(0, 10)))).status, 403, `${path} with a token prefix`);
  }
  assert.equal((await raw("/api/decisions", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).status, 401, "a write without a token");
  assert.equal((await post({ base: null, decisions: [] }, { "X-Review-Token": wrong })).status, 403, "a write with a wrong token");
  for (const path of ["/", "/review.js", "/api/data", thumb]) assert.equal((await raw(withToken(path))).status, 200, `${path} with the token`);
  const thumbAnswer = await raw(withToken(thumb));
  assert.equal(thumbAnswer.headers["content-type"], "image/webp");
  assert.equal(thumbAnswer.body.subarray(8, 12).toString(), "WEBP");
});

test("the page goes out with a strict Content-Security-Policy and loads its assets with the token", { skip: SKIP_NO_FIXTURES }, async () => {
  const page = await raw(withToken("/"));
  const csp = String(page.headers["content-security-policy"]);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  assert.equal(page.headers["referrer-policy"], "no-referrer");
  const html = page.body.toString();
  assert.ok(html.includes(`src="review.js?token=${review.token}"`), "assets carry the token");
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, "no inline script");
});

test("a Host that is not loopback is refused (DNS rebinding)", { skip: SKIP_NO_FIXTURES }, async () => {
  for (const host of ["evil.example", "evil.example:80", "127.0.0.1.evil.example"]) {
    assert.equal((await raw(withToken("/"), { headers: { Host: host } })).status, 403, host);
  }
  assert.equal((await raw(withToken("/"), { headers: { Host: `localhost:${review.port}` } })).status, 200);
});

test("only the page's files and this build's thumbnails are served: traversal in any spelling is refused", { skip: SKIP_NO_FIXTURES }, async () => {
  const d = await data();
  const sha = d.rows.sha[0]!;
  const attempts = [
    "/../package.json",
    "/../../../../etc/passwd",
    "/%2e%2e/package.json",
    "/%2e%2e%2fpackage.json",
    "/%252e%252e%252fpackage.json",
    "/..%5c..%5cpackage.json",
    "//etc/passwd",
    "/etc/passwd",
    "/thumbs/../../package.json",
    "/thumbs/%2e%2e/%2e%2e/package.json",
    `/thumbs/${sha}.webp/../../../package.json`,
    `/thumbs/${sha.slice(0, 2)}/${sha}.webp`,
    `/thumbs/${"f".repeat(64)}.webp`,
    `/thumbs/${sha.toUpperCase()}.webp`,
    "/thumbs/settings.json",
    "/review.js/../../package.json",
    "/src/review/page/review.js",
    "/page/review.js",
    "/index.ts",
    "/review-page-html.ts",
    "/.idclusters-review.json",
    "/api/../../config.yaml",
    "/%00",
    "/__proto__",
    "/constructor",
    "/toString",
  ];
  for (const path of attempts) {
    const answer = await raw(withToken(path));
    assert.ok([403, 404].includes(answer.status), `${path}: ${answer.status}`);
    assert.doesNotMatch(answer.body.toString(), /"name": "idclusters"|root:|clustering/, `${path} leaked a file`);
  }
  assert.equal((await raw(withToken("/review.js"), { method: "PUT" })).status, 405);
  assert.equal((await raw(withToken("/api/decisions"))).status, 405, "GET on the write route");
});

test("writes are checked, written as a decisions file readOverrides reads, and a stale write is refused", { skip: SKIP_NO_FIXTURES }, async () => {
  const before = await data();
  assert.equal(before.overrides.sha256, null, "no decisions file yet");
  assert.equal(before.overrides.configured, false);
  assert.ok(!existsSync(review.overrides));
  const sha = (file: string) => before.rows.sha[rowOf(before, file)]!;
  const when = new Date().toISOString();
  const merge = { id: "t-merge", action: "merge", images: [sha("amy/amy1.png"), sha("bernadette/bernadette1.png")], files: ["page says a", "page says b"], who: "page", when };

  // Bad writes: nothing is written.
  const bad: [unknown, RegExp][] = [
    [{ base: null, decisions: [{ ...merge, action: "rename" }] }, /action: expected one of merge, split, exclude, check/],
    [{ base: null, decisions: [{ ...merge, images: [sha("amy/amy1.png"), "f".repeat(64)] }] }, /is not an image of this build/],
    [{ base: null, decisions: [{ ...merge, images: ["../../etc/passwd", sha("amy/amy1.png")] }] }, /is not a SHA-256/],
    [{ base: null, decisions: [{ ...merge, images: [sha("amy/amy1.png")] }] }, /a merge names at least two images/],
    [{ base: null, decisions: [{ id: "t-x", action: "exclude", images: [sha("amy/amy2.png")] }] }, /an exclude says why/],
    [{ base: null, decisions: [merge, merge] }, /appears twice/],
    [{ base: null, decisions: [{ ...merge, id: "../x" }] }, /\.id: expected letters/],
    [{ base: null, decisions: [{ ...merge, extra: 1 }] }, /unknown key "extra"/],
    [{ base: null, decisions: "all" }, /decisions: expected a list/],
  ];
  for (const [body, says] of bad) {
    const answer = await post(body);
    assert.equal(answer.status, 400, answer.body.toString());
    assert.match(JSON.parse(answer.body.toString()).error, says);
  }
  assert.equal((await raw("/api/decisions", { method: "POST", headers: { "Content-Type": "text/plain", "X-Review-Token": review.token }, body: "{}" })).status, 415);
  assert.equal((await post({ base: null, decisions: [] }, { Origin: "http://evil.example" })).status, 403, "a cross-origin write");
  assert.ok(!existsSync(review.overrides), "nothing written by a bad request");

  // A good write: who and files come from the server, not the page.
  const first = await post({ base: null, decisions: [merge] });
  assert.equal(first.status, 200, first.body.toString());
  const saved = await readOverrides(review.overrides);
  assert.equal(JSON.parse(first.body.toString()).sha256, saved.sha256);
  assert.deepEqual(saved.decisions, [{ id: "t-merge", action: "merge", images: merge.images, files: ["amy/amy1.png", "bernadette/bernadette1.png"], who: "server-test", when }]);
  const text = await readFile(review.overrides, "utf8");
  assert.match(text, /^# Identity review decisions/);

  // A second page still on the old version (base: no file) is refused, and the file is unchanged.
  const stale = await post({ base: null, decisions: [{ id: "t-check", action: "check", images: [sha("raj/raj1.png")], when }] });
  assert.equal(stale.status, 409, stale.body.toString());
  assert.match(JSON.parse(stale.body.toString()).error, /changed since this page loaded it .* nothing was written/);
  assert.equal(await readFile(review.overrides, "utf8"), text);
  const staleToo = await post({ base: "e".repeat(64), decisions: [] });
  assert.equal(staleToo.status, 409);

  // Saved decisions cannot be edited, only dropped (undo), and keep their order.
  const edited = await post({ base: saved.sha256, decisions: [{ ...saved.decisions[0], why: "sneaky" }] });
  assert.equal(edited.status, 400);
  assert.match(JSON.parse(edited.body.toString()).error, /differs from the one in the file/);

  // The page's data now shows the merge, applied by the server.
  const after = await data();
  assert.equal(after.overrides.sha256, saved.sha256);
  assert.equal(after.overrides.decisions.length, 1);
  const labelOf = (file: string) => after.applied!.labels[rowOf(after, file)];
  for (let n = 1; n <= 4; n++) assert.equal(labelOf(`bernadette/bernadette${n}.png`), labelOf("amy/amy1.png"), `bernadette${n} merged with amy`);

  // Undo of a saved decision = a write without it; then a split, an exclude, a check.
  const split: Partial<OverrideDecision> = { id: "t-split", action: "split", images: [sha("howard/howard1.png")], when };
  const exclude: Partial<OverrideDecision> = { id: "t-exclude", action: "exclude", images: [sha("penny/penny2.png")], why: "blurred <script>alert(1)</script>", when };
  const next = await post({ base: after.overrides.sha256, decisions: [split, exclude] });
  assert.equal(next.status, 200, next.body.toString());
  const final = await readOverrides(review.overrides);
  assert.deepEqual(final.decisions.map((d) => [d.id, d.action, d.who]), [["t-split", "split", "server-test"], ["t-exclude", "exclude", "server-test"]]);
  assert.equal(final.decisions[1]!.why, "blurred <script>alert(1)</script>");
  const last = await data();
  assert.deepEqual(last.applied!.excluded, [rowOf(last, "penny/penny2.png")]);
  assert.equal(new Set(last.applied!.labels.filter((_, r) => last.rows.file[r]!.startsWith("bernadette/"))).size, 1);
});

test("another launch on a busy port says so; --port 0 takes any free one", { skip: SKIP_NO_FIXTURES }, async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = await runIdclusters(["review", "--config", build.config, "--port", String(port)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .*--port 0 for any free port`));
  } finally {
    blocker.close();
  }
});

test("--static writes a self-contained copy, but never into a folder it did not make", { skip: SKIP_NO_FIXTURES }, async () => {
  const foreign = join(dir, "foreign");
  await mkdir(foreign);
  await writeFile(join(foreign, "notes.txt"), "mine");
  const refused = await runIdclusters(["review", "--config", build.config, "--static", foreign]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /the folder is not empty and was not written by idclusters review \(no \.idclusters-review\.json\)/);
  assert.deepEqual(readdirSync(foreign), ["notes.txt"]);

  const copy = join(dir, "copy");
  const written = await runIdclusters(["review", "--config", build.config, "--static", copy]);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout.trim(), join(copy, "index.html"));
  const html = await readFile(join(copy, "index.html"), "utf8");
  assert.match(html, /<script type="application\/json" id="review-data">\{/);
  assert.doesNotMatch(html, /<script type="application\/json" id="review-data">[^]*<script>alert/, "data cannot close its element");
  assert.ok(html.includes("\\u003cscript>alert(1)\\u003c/script>"), "the exclude reason is in the data, escaped");
  const thumbs = readdirSync(join(copy, "thumbs"));
  assert.equal(thumbs.length, 32);
  assert.ok(thumbs.every((f) => /^[0-9a-f]{64}\.webp$/.test(f)));
  for (const f of ["review.js", "review.css", "decisions.js", ".idclusters-review.json"]) assert.ok(existsSync(join(copy, f)), f);

  // Its own folder: rewritten; a file of someone else's in the way: refused.
  const again = await runIdclusters(["review", "--config", build.config, "--static", copy]);
  assert.equal(again.code, 0, again.stderr);
  await writeFile(join(copy, "extra.txt"), "someone's");
  const stillOk = await runIdclusters(["review", "--config", build.config, "--static", copy]);
  assert.equal(stillOk.code, 0, stillOk.stderr);
  assert.equal(await readFile(join(copy, "extra.txt"), "utf8"), "someone's", "a file it did not write is left alone");
});

test("Ctrl-C stops the server cleanly and the saved decisions stay", { skip: SKIP_NO_FIXTURES }, async () => {
  const before = await readFile(review.overrides, "utf8");
  const code = await review.stop();
  assert.equal(code, 0, review.stderr());
  assert.match(review.stderr(), /SIGINT: stopping \(saved decisions stay in/);
  assert.equal(await readFile(review.overrides, "utf8"), before);
  await assert.rejects(raw(withToken("/")), /ECONNREFUSED/);
});
