/**
 * `npm run bench:review [-- --rows 28000 --dir tmp/bench-review --keep-cache --json]`
 *
 * `idclusters review` at the first release's scale, on a synthetic work dir: 28,000 rows in
 * identities sized like CelebA-HQ's (5,583 singletons, clusters of 2-31, some look-alike pairs),
 * 512-d unit embeddings clustered by the real cluster stage (DBSCAN, eps 0.35), an image folder of
 * small generated JPEGs (96 px, a face-like disc coloured per identity) and the embed index that
 * names them. The source and work dir are generated once and reused (`--dir`); the thumbnail
 * cache is removed first unless `--keep-cache`.
 *
 * Measures:
 * - thumbnail cache: build time (cold), files and size on disk;
 * - server: `idclusters review` process start -> URL printed -> the page's data (GET /api/data),
 *   and the data's size (JSON and gzip);
 * - page: headless Chromium (/usr/bin/chromium or $CHROMIUM_PATH) from navigation to the first
 *   cards in the DOM and to their thumbnails shown; scrolling the whole list (frame times, DOM
 *   size); a merge (keypress to re-rendered); a search;
 * - the static copy (`--static`): write time and size.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { writeNpy } from "../src/common/npy.ts";
import { mulberry32 } from "../src/common/seeded-random.ts";
import { runCluster } from "../src/cluster/index.ts";
import { encodeIndexParquet, type EmbedRow } from "../src/embed/embed-outputs.ts";
import { loadReviewBuild } from "../src/review/index.ts";

// Code run in the page (page.evaluate) sees the browser's globals; to this file they are untyped.
declare const document: any;
declare const requestAnimationFrame: (callback: () => void) => number;
declare const KeyboardEvent: any;
type BrowserImage = { complete: boolean; naturalWidth: number };


const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "28000" },
    dir: { type: "string", default: "tmp/bench-review" },
    "keep-cache": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const ROWS = Number(args.rows);
const DIMS = 512;
const SIZE = 96;
const root = resolve(args.dir!, String(ROWS));
const sourceDir = join(root, "source");
const workDir = join(root, "work");
const configPath = join(root, "config.yaml");
const CLI = resolve("bin/idclusters.js");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const say = (line: string) => process.stderr.write(`bench:review: ${line}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** CelebA-HQ's identity sizes (the first release's statistics), scaled to `rows`; the rest singletons. */
function identitySizes(rows: number): number[] {
  const distribution: Record<number, number> = { 2: 900, 3: 700, 4: 600, 5: 560, 6: 520, 7: 300, 8: 200, 9: 120, 10: 80, 12: 50, 15: 40, 20: 20, 25: 8, 31: 2 };
  const scale = rows / 28000;
  const sizes: number[] = [];
  for (const [size, count] of Object.entries(distribution)) for (let i = 0; i < Math.round(count * scale); i++) sizes.push(Number(size));
  let used = sizes.reduce((a, b) => a + b, 0);
  while (used < rows) {
    sizes.push(1);
    used++;
  }
  return sizes;
}

async function generate(): Promise<void> {
  const random = mulberry32(13);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const unit = (v: Float64Array) => {
    let s = 0;
    for (const x of v) s += x * x;
    const norm = Math.sqrt(s);
    for (let k = 0; k < v.length; k++) v[k]! /= norm;
    return v;
  };
  const randomUnit = () => unit(Float64Array.from({ length: DIMS }, gauss));
  const sizes = identitySizes(ROWS);
  // Identities in a random source order, as a real source interleaves people.
  const order = Int32Array.from({ length: ROWS }, (_, i) => i);
  for (let i = ROWS - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const embeddings = new Float32Array(ROWS * DIMS);
  const hueOf = new Float64Array(ROWS);
  let written = 0;
  let previous: Float64Array | undefined;
  for (const size of sizes) {
    let centre = randomUnit();
    // One identity in 25 is a look-alike of the previous one (centroid cosine ~0.55-0.75): "near" flags.
    if (previous && random() < 0.04) {
      const t = 0.55 + 0.2 * random();
      centre = unit(Float64Array.from(previous, (x, k) => t * x + Math.sqrt(1 - t * t) * centre[k]!));
    }
    previous = centre;
    const spread = 0.3 + 0.3 * random(); // member-member cosine ~ 1 / (1 + spread^2): 0.74-0.92
    const hue = random() * 360;
    for (let m = 0; m < size; m++) {
      const row = order[written++]!;
      const v = unit(Float64Array.from(centre, (x) => x + (spread * gauss()) / Math.sqrt(DIMS)));
      embeddings.set(v, row * DIMS);
      hueOf[row] = hue + 20 * (random() - 0.5);
    }
  }
  await mkdir(sourceDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  writeNpy(join(workDir, "embeddings.npy"), { shape: [ROWS, DIMS], data: embeddings });

  // Small JPEGs: a face-like disc on a background, coloured per identity.
  const rows: EmbedRow[] = [];
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  const started = performance.now();
  for (let row = 0; row < ROWS; row++) {
    const hue = hueOf[row]!;
    const rgb = (h: number, l: number) => {
      const a = 0.5 * Math.min(l, 1 - l);
      const f = (n: number) => {
        const k = (n + h / 30) % 12;
        return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
      };
      return [f(0), f(8), f(4)] as const;
    };
    const bg = rgb(hue, 0.35);
    const face = rgb((hue + 30) % 360, 0.72);
    const r2 = (SIZE * 0.32) ** 2;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const inside = (x - SIZE / 2) ** 2 + ((y - SIZE / 2) * 0.85) ** 2 < r2;
        const c = inside ? face : bg;
        const o = (y * SIZE + x) * 3;
        // Grain, so the JPEGs and thumbnails weigh about what photos do.
        const grain = Math.floor(random() * 25) - 12;
        // The row number in 16 black/white blocks along the top: every image's bytes differ.
        const bit = y < 6 && x < 96 ? (row >> Math.floor(x / 6)) & 1 : -1;
        for (let k = 0; k < 3; k++) pixels[o + k] = bit >= 0 ? bit * 255 : Math.max(0, Math.min(255, c[k]! + grain));
      }
    }
    const jpeg = await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
    const fileName = `${String(row).padStart(6, "0")}.jpg`;
    await writeFile(join(sourceDir, fileName), jpeg);
    rows.push({
      row,
      fileName,
      imageSha256: createHash("sha256").update(jpeg).digest("hex"),
      status: "ok",
      reason: null,
      facesFound: 1,
      score: 0.9,
      box: [SIZE * 0.2, SIZE * 0.16, SIZE * 0.8, SIZE * 0.84],
      landmarks: null,
      embedding: null,
    });
    if (row % 5000 === 4999) say(`generated ${row + 1} images (${seconds(performance.now() - started)} s)`);
  }
  await writeFile(join(workDir, "embeddings-index.parquet"), encodeIndexParquet(rows, "drop"));
  say("clustering (DBSCAN, eps 0.35) with the cluster stage");
  await runCluster({
    embeddingsPath: join(workDir, "embeddings.npy"),
    eps: 0.35,
    minSamples: 2,
    noise: "singleton",
    labelsOut: join(workDir, "labels-sklearn.npy"),
    statsOut: join(workDir, "cluster-stats.json"),
  });
  for (const model of ["det.onnx", "rec.onnx"]) await writeFile(join(root, model), "not used by review");
  await writeFile(
    configPath,
    [
      "name: bench_review",
      "work_dir: work",
      "source: { path: source, format: imagefolder }",
      "models:",
      "  detector: { kind: yunet, path: det.onnx }",
      "  recognizer: { path: rec.onnx }",
      "clustering: { eps: 0.35, min_samples: 2, noise: singleton }",
      "release: { target: local/bench-review }",
      "",
    ].join("\n"),
  );
  await writeFile(join(root, "generated"), `${ROWS}\n`);
}

async function folderSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(webp|html|js|css)$/.test(entry.name)) continue;
    files++;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

interface Started {
  url: string;
  stop: () => Promise<void>;
}

function startReview(extra: string[]): Promise<Started & { printedMs: number; stderr: () => string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, "review", "--config", configPath, "--port", "0", "--json", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolvePromise, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (!out.includes("\n")) return;
      const printedMs = performance.now() - t0;
      const { url } = JSON.parse(out.split("\n")[0]!) as { url: string };
      resolvePromise({
        url,
        printedMs,
        stderr: () => stderr,
        stop: () =>
          new Promise<void>((done) => {
            child.on("exit", () => done());
            child.kill("SIGINT");
          }),
      });
    });
    child.on("exit", (code) => reject(new Error(`review exited ${code}:\n${stderr}`)));
  });
}

const results: [string, string][] = [];
const record = (what: string, value: string) => {
  results.push([what, value]);
  say(`${what}: ${value}`);
};

if (!existsSync(join(root, "generated"))) {
  say(`generating ${ROWS} rows in ${root} (once)`);
  await rm(root, { recursive: true, force: true });
  await generate();
}
const build = await loadReviewBuild({
  embeddingsPath: join(workDir, "embeddings.npy"),
  indexPath: join(workDir, "embeddings-index.parquet"),
  labelsPath: join(workDir, "labels-sklearn.npy"),
  statsPath: join(workDir, "cluster-stats.json"),
  buildCommand: "npm run bench:review",
});
const identities = new Set(build.labels).size;
record("rows / identities / ambiguous pairs", `${build.labels.length} / ${identities} / ${build.ambiguousPairs.length}`);

// 1. `idclusters review` as the user starts it, with no thumbnail cache: the cache is built first.
const cacheRoot = join(workDir, "cache", "review-thumbnails");
if (!args["keep-cache"]) {
  await rm(cacheRoot, { recursive: true, force: true });
  const cold = await startReview([]);
  record("review start, no thumbnail cache -> URL printed", `${seconds(cold.printedMs)} s`);
  const made = /review: thumbnails: (\d+)\/\d+ images \(([\d.]+) images\/s\) done/.exec(cold.stderr());
  if (made) record("thumbnail cache build", `${made[1]} thumbnails at ${made[2]} images/s (${seconds((Number(made[1]) / Number(made[2])) * 1000)} s)`);
  await cold.stop();
}
const onDisk = await folderSize(cacheRoot);
record("thumbnail cache on disk", `${onDisk.files} thumbnails, ${(onDisk.bytes / 2 ** 20).toFixed(1)} MiB (${(onDisk.bytes / Math.max(1, onDisk.files) / 1024).toFixed(1)} KiB each)`);

// 2. The server with the cache in place: start -> URL (the data is ranked before the URL is printed) -> the page's data.
const review = await startReview([]);
record("review start, thumbnails cached -> URL printed (data ranked)", `${seconds(review.printedMs)} s`);
const dataUrl = review.url.replace("/?token", "/api/data?token");
const t2 = performance.now();
const plain = await fetch(dataUrl, { headers: { "Accept-Encoding": "identity" } });
const json = Buffer.from(await plain.arrayBuffer());
const dataMs = performance.now() - t2;
const t3 = performance.now();
const zipped = await fetch(dataUrl, { headers: { "Accept-Encoding": "gzip" } });
const gzipBytes = (await zipped.arrayBuffer()).byteLength;
const zippedMs = performance.now() - t3;
record("GET /api/data (first request / gzip)", `${dataMs.toFixed(0)} ms / ${zippedMs.toFixed(0)} ms; ${(json.length / 2 ** 20).toFixed(2)} MiB JSON, ${(Number(zipped.headers.get("content-length") ?? gzipBytes) / 2 ** 20).toFixed(2)} MiB gzip`);
record("review start -> first page data", `${seconds(review.printedMs + dataMs)} s`);

// 3. The page in headless Chromium.
if (existsSync(CHROMIUM)) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // tsx compiles the in-page functions below with esbuild's keepNames, which calls __name.
    await page.addInitScript("window.__name = (f) => f;");
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(review.url, { waitUntil: "commit" });
    await page.waitForSelector(".card", { timeout: 30_000 });
    const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType("mark").map((m) => [m.name, m.startTime])));
    const cardsAt = marks["review:rendered"] ?? (await page.evaluate(() => performance.now()));
    record("page: navigation -> data parsed", `${(marks["review:data"] ?? Number.NaN).toFixed(0)} ms`);
    await page.waitForFunction(() => {
      const imgs = ([...document.querySelectorAll(".card img")] as BrowserImage[]).slice(0, 24);
      return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
    });
    const thumbsAt = await page.evaluate(() => performance.now());
    record("page: navigation -> first clusters rendered", `${cardsAt.toFixed(0)} ms`);
    record("page: navigation -> their thumbnails shown", `${thumbsAt.toFixed(0)} ms`);
    const dom = await page.evaluate(() => ({ nodes: document.getElementsByTagName("*").length, cards: document.querySelectorAll(".card").length, height: document.getElementById("canvas")!.offsetHeight }));
    record("page: DOM after load", `${dom.nodes} elements, ${dom.cards} cards in the DOM, list ${(dom.height / 1000).toFixed(0)}k px tall`);
    // Scrolling: like a fast mouse wheel (150 px a frame), then a screen a frame through the whole list.
    const scrollWith = (step: number, limit: number) =>
      page.evaluate(
        ([step, limit]) =>
          new Promise<{ frames: number; p50: number; p95: number; max: number; maxCards: number }>((done) => {
            const list = document.getElementById("list");
            list.scrollTop = 0;
            const times: number[] = [];
            let last = performance.now();
            let maxCards = 0;
            const frame = () => {
              const now = performance.now();
              times.push(now - last);
              last = now;
              maxCards = Math.max(maxCards, document.querySelectorAll(".card").length);
              if (list.scrollTop + list.clientHeight >= list.scrollHeight - 2 || times.length > limit) {
                times.shift(); // the first frame measures nothing
                times.sort((a, b) => a - b);
                done({ frames: times.length, p50: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]!, max: times.at(-1)!, maxCards });
                return;
              }
              list.scrollTop += step === 0 ? list.clientHeight : step;
              requestAnimationFrame(frame);
            };
            requestAnimationFrame(frame);
          }),
        [step, limit] as const,
      );
    const wheel = await scrollWith(150, 400);
    record("page: scroll 150 px a frame (fast wheel), 400 frames", `frame time p50 ${wheel.p50.toFixed(1)} ms, p95 ${wheel.p95.toFixed(1)} ms, max ${wheel.max.toFixed(1)} ms; at most ${wheel.maxCards} cards in the DOM`);
    const jump = await scrollWith(0, 3000);
    record("page: scroll the whole list a screen a frame", `${jump.frames} frames, frame time p50 ${jump.p50.toFixed(1)} ms, p95 ${jump.p95.toFixed(1)} ms, max ${jump.max.toFixed(1)} ms; at most ${jump.maxCards} cards in the DOM`);
    // A merge: two identities picked, `m` pressed; the handler recomputes and re-renders synchronously.
    await page.evaluate(() => (document.getElementById("list")!.scrollTop = 0));
    await page.waitForTimeout(200);
    await page.locator(".card input.pick").nth(0).check();
    await page.locator(".card input.pick").nth(1).check();
    const mergeMs = await page.evaluate(() => {
      const t = performance.now();
      document.dispatchEvent(new KeyboardEvent("keydown", { key: "m", bubbles: true }));
      return performance.now() - t;
    });
    record("page: a merge (keypress -> all identities recomputed, re-rendered)", `${mergeMs.toFixed(0)} ms`);
    const filterMs = await page.evaluate(() => {
      const select = document.getElementById("filter-kind");
      const t = performance.now();
      select.value = "flagged";
      select.dispatchEvent(new Event("change"));
      return performance.now() - t;
    });
    record("page: a filter change (flagged only)", `${filterMs.toFixed(0)} ms`);
    const searchMs = await page.evaluate(() => {
      // The search box is read on every refresh; a change of order refreshes at once (typing waits 120 ms first).
      document.getElementById("search").value = "0123";
      const t = performance.now();
      document.getElementById("sort").dispatchEvent(new Event("change"));
      return performance.now() - t;
    });
    record("page: a search by file name (after the 120 ms typing pause)", `${searchMs.toFixed(0)} ms`);
    if (errors.length) record("page errors", errors.join("; "));
  } finally {
    await browser.close();
  }
} else {
  say(`no Chromium at ${CHROMIUM}: page figures skipped`);
}
await review.stop();

// 4. The static copy.
const copy = join(root, "static-copy");
await rm(copy, { recursive: true, force: true });
const t4 = performance.now();
await new Promise<void>((done, fail) => {
  const child = spawn(process.execPath, [CLI, "review", "--config", configPath, "--static", copy, "--quiet"], { stdio: "ignore" });
  child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`review --static exited ${code}`))));
});
const copied = await folderSize(copy);
record("static copy (--static)", `${seconds(performance.now() - t4)} s, ${copied.files} files, ${(copied.bytes / 2 ** 20).toFixed(1)} MiB`);

const context = `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0]!.toFixed(2)}`;
if (args.json) process.stdout.write(JSON.stringify({ rows: ROWS, context, results: Object.fromEntries(results) }, null, 2) + "\n");
else {
  const width = Math.max(...results.map(([w]) => w.length));
  process.stdout.write(`\nidclusters review, ${ROWS} rows; ${context}\n\n`);
  process.stdout.write(`| ${"measure".padEnd(width)} | value |\n|${"-".repeat(width + 2)}|-------|\n`);
  for (const [what, value] of results) process.stdout.write(`| ${what.padEnd(width)} | ${value} |\n`);
}
