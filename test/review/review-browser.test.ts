/**
 * The review page end to end in a real browser (headless Chromium driven by playwright-core), on
 * the real fixture release: `idclusters review` started as a user starts it; two identities
 * merged, one image split out, one excluded with a reason (undo tried on the way), saved; then the
 * config names the decisions file, `idclusters run` rebuilds, and the Parquet shards (read with
 * DuckDB) reflect exactly those decisions; a new source revision with more images keeps them.
 * The static copy works from file:// and its Save downloads the same kind of file.
 * Screenshots for a person to look at: test-output/review/.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { parseOverrides, readOverrides } from "../../src/identities/index.ts";
import { openDuckDb, sqlString } from "../../src/release/index.ts";
import type { ReviewData } from "../../src/review/index.ts";
import { addFaces, buildFixtureRelease, runIdclusters, SKIP_NO_FIXTURES, startReview, writeFixtureConfig, type FixtureBuild, type RunningReview } from "./review-fixture.ts";

// Code run in the page (page.evaluate) sees the browser's globals; to this file they are untyped.
declare const document: any;
declare const requestAnimationFrame: (callback: () => void) => number;
declare const KeyboardEvent: any;
type BrowserImage = { complete: boolean; naturalWidth: number };


const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SKIP = SKIP_NO_FIXTURES || (!existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (install Debian's chromium or set CHROMIUM_PATH): the browser test needs one`);
const SHOTS = fileURLToPath(new URL("../../test-output/review/", import.meta.url));
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let dir: string;
let build: FixtureBuild;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

before(async () => {
  if (SKIP) return;
  dir = await mkdtemp(join(tmpdir(), "idclusters-review-browser-"));
  await mkdir(SHOTS, { recursive: true });
  build = await buildFixtureRelease(dir);
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  // Saves re-rank the identities on a machine that may be busy: generous waits.
  context.setDefaultTimeout(90_000);
});

after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function watch(page: Page): void {
  page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
  });
}

/** Types a search and waits for the list to follow. */
async function search(page: Page, text: string): Promise<void> {
  await page.fill("#search", text);
  await page.waitForTimeout(250);
  await page.keyboard.press("Escape"); // leaves the field: keys go to the shortcuts again
}

async function decisionCount(page: Page): Promise<number> {
  return Number(await page.textContent("#decision-count"));
}

/** The shards' file name -> cluster_id. */
async function releaseIds(release: string): Promise<Map<string, number>> {
  const db = await openDuckDb();
  try {
    const rows = await db.all(`select file_name, cluster_id from read_parquet(${sqlString(join(release, "data", "*.parquet"))})`);
    return new Map(rows.map((r) => [String(r.file_name), Number(r.cluster_id)]));
  } finally {
    db.close();
  }
}

/** The release holds exactly the decisions: penny2 excluded, amy and bernadette one identity, howard1 apart from the other howards. */
function assertDecisionsHold(ids: Map<string, number>, numbers: number[]): void {
  const id = (file: string) => {
    assert.ok(ids.has(file), `${file} is in the release`);
    return ids.get(file)!;
  };
  assert.ok(!ids.has("penny/penny2.png"), "the excluded image is not in the release");
  assert.equal(ids.size, 8 * numbers.length - 1);
  const merged = new Set(["amy", "bernadette"].flatMap((p) => numbers.map((n) => id(`${p}/${p}${n}.png`))));
  assert.equal(merged.size, 1, "amy's and bernadette's images share one cluster_id");
  const howards = numbers.filter((n) => n !== 1).map((n) => id(`howard/howard${n}.png`));
  assert.equal(new Set(howards).size, 1, "the other howards stay together");
  assert.notEqual(id("howard/howard1.png"), howards[0], "howard1 was split out");
  assert.equal([...ids.values()].filter((v) => v === id("howard/howard1.png")).length, 1, "howard1's cluster_id is shared with none of its former mates (nor anyone)");
  for (const person of ["leonard", "penny", "raj", "sheldon", "stuart"]) {
    const own = new Set(numbers.filter((n) => !(person === "penny" && n === 2)).map((n) => id(`${person}/${person}${n}.png`)));
    assert.equal(own.size, 1, `${person} untouched`);
    assert.ok(!own.has([...merged][0]!), `${person} not merged`);
  }
}

test("merge, split, exclude and undo in the browser, saved; run applies them; a new source revision keeps them", { skip: SKIP, timeout: 600_000 }, async () => {
  let review: RunningReview | undefined = await startReview(["--config", build.config, "--reviewer", "e2e"]);
  try {
    const data = (await (await fetch(`${review.origin}/api/data?token=${review.token}`)).json()) as ReviewData;
    const row = (file: string) => data.rows.file.indexOf(file);
    const page = await context.newPage();
    watch(page);
    const opened = Date.now();
    await page.goto(review.url);
    await page.waitForSelector(".card .cell img");
    const loadMs = Date.now() - opened;
    // Every visible thumbnail loaded (lazy images near the top are in the viewport).
    await page.waitForFunction(() => ([...document.querySelectorAll(".card img")] as BrowserImage[]).slice(0, 8).every((img) => img.complete && img.naturalWidth > 0));
    assert.equal(await page.locator(".card").count(), 8, "8 identities");
    assert.match(await page.textContent("#summary") ?? "", /32 images · 8 identities/);
    assert.match(await page.textContent("#banner") ?? "", /names no clustering\.overrides/);
    await page.screenshot({ path: join(SHOTS, "overview.png") });

    // Merge amy's and bernadette's identities (picked through search), undo it, merge again.
    const pickCardOf = async (file: string) => {
      await search(page, file.split("/")[1]!.replace(".png", ""));
      await page.locator(`.card:has(.cell[data-row="${row(file)}"]) input.pick`).check();
    };
    await pickCardOf("amy/amy1.png");
    await pickCardOf("bernadette/bernadette1.png");
    assert.match(await page.textContent("#selection") ?? "", /2 identities selected/);
    await page.keyboard.press("m");
    assert.equal(await decisionCount(page), 1);
    await search(page, "");
    assert.equal(await page.locator(".card").count(), 7, "merged: 7 identities");
    await page.keyboard.press("u");
    assert.equal(await decisionCount(page), 0, "undo removed the merge");
    assert.equal(await page.locator(".card").count(), 8);
    await pickCardOf("amy/amy1.png");
    await pickCardOf("bernadette/bernadette1.png");
    await page.keyboard.press("m");

    // Split howard1 out into a new identity.
    await search(page, "howard1");
    await page.locator(`.cell[data-row="${row("howard/howard1.png")}"] img`).click();
    await page.keyboard.press("s");

    // Exclude penny2, with a reason.
    await search(page, "penny2");
    await page.locator(`.cell[data-row="${row("penny/penny2.png")}"] img`).click();
    await page.keyboard.press("e");
    await page.waitForSelector("#exclude-dialog[open]");
    await page.fill("#exclude-reason", "eyes closed, <b>not</b> usable");
    await page.keyboard.press("Enter");
    assert.equal(await decisionCount(page), 3);
    await search(page, "");
    assert.equal(await page.locator(".card").count(), 9, "7 + howard1 alone + the excluded card");
    assert.match(await page.textContent("#save-state") ?? "", /3 unsaved changes/);
    // Text from the data is text, never markup.
    assert.equal(await page.locator(".card b").count(), 0);
    await page.screenshot({ path: join(SHOTS, "after-moves.png") });

    await page.keyboard.press("Control+s");
    await page.waitForFunction(() => /All saved: 3 decision/.test(document.querySelector("#save-state")?.textContent ?? ""));
    await page.keyboard.press("?");
    await page.waitForSelector("#help-dialog[open]");
    await page.screenshot({ path: join(SHOTS, "help.png") });
    await page.keyboard.press("Escape");
    await page.keyboard.press("d");
    await page.waitForSelector("#decisions-dialog[open]");
    await page.screenshot({ path: join(SHOTS, "decisions.png") });
    await page.keyboard.press("Escape");
    assert.equal(await page.locator("#banner").textContent().then((t) => /differs from the server/.test(t ?? "")), false);
    assert.deepEqual(pageErrors, []);
    process.stderr.write(`# review page: first thumbnails ${loadMs} ms after navigation\n`);

    const saved = await readOverrides(review.overrides);
    assert.deepEqual(saved.decisions.map((d) => d.action), ["merge", "split", "exclude"]);
    assert.ok(saved.decisions.every((d) => d.who === "e2e"));
    assert.deepEqual(saved.decisions[2]!.files, ["penny/penny2.png"]);
    assert.equal(saved.decisions[2]!.why, "eyes closed, <b>not</b> usable");
    assert.deepEqual(saved.decisions[1]!.files, ["howard/howard1.png"]);
    await page.close();
    assert.equal(await review.stop(), 0);
    review = undefined;
  } finally {
    await review?.stop();
  }

  // The config names the file; run applies it.
  await writeFixtureConfig(dir, "  overrides: config.overrides.yaml\n");
  const rebuilt = await runIdclusters(["run", "--config", build.config, "--json"]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assertDecisionsHold(await releaseIds(build.release), [1, 2, 3, 4]);

  // A new source revision: image 5 of everyone added. The decisions still hold (keyed by image bytes).
  await addFaces(build.source, [5]);
  const revised = await runIdclusters(["run", "--config", build.config, "--json"]);
  assert.equal(revised.code, 0, revised.stderr);
  assertDecisionsHold(await releaseIds(build.release), [1, 2, 3, 4, 5]);
});

test("the static copy works from file:// and its Save downloads the decisions file", { skip: SKIP, timeout: 300_000 }, async () => {
  const copy = join(dir, "static-copy");
  const written = await runIdclusters(["review", "--config", build.config, "--static", copy, "--reviewer", "static-writer"]);
  assert.equal(written.code, 0, written.stderr);
  const page = await context.newPage();
  watch(page);
  await page.goto(pathToFileURL(join(copy, "index.html")).href);
  await page.waitForSelector(".card .cell img");
  await page.waitForFunction(() => ([...document.querySelectorAll(".card img")] as BrowserImage[]).slice(0, 6).every((img) => img.complete && img.naturalWidth > 0));
  const before = await decisionCount(page);
  await page.fill("#reviewer", "offline reviewer");
  await page.keyboard.press("Tab");
  await page.locator(".card").first().locator(".cid").click();
  await page.keyboard.press("c");
  assert.equal(await decisionCount(page), before + 1);
  await page.screenshot({ path: join(SHOTS, "static.png") });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#act-save")]);
  assert.equal(download.suggestedFilename(), "config.overrides.yaml");
  const text = await readFile((await download.path())!, "utf8");
  const file = parseOverrides(text, "download.yaml");
  assert.equal(file.decisions.length, before + 1);
  const last = file.decisions.at(-1)!;
  assert.equal(last.action, "check");
  assert.equal(last.who, "offline reviewer");
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("two tabs: the second save meets a changed file, is refused, and is applied again after a reload", { skip: SKIP, timeout: 300_000 }, async () => {
  const review = await startReview(["--config", build.config, "--reviewer", "tabs"]);
  try {
    const before = (await readOverrides(review.overrides)).decisions.length;
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const page of [a, b]) {
      watch(page);
      await page.goto(review.url);
      await page.waitForSelector(".card .cell img");
    }
    // Tab A marks the first identity checked and saves.
    await a.locator(".card").first().locator(".cid").click();
    await a.keyboard.press("c");
    await a.keyboard.press("Control+s");
    await a.waitForFunction((n) => new RegExp(`All saved: ${n} decision`).test(document.querySelector("#save-state")?.textContent ?? ""), before + 1);
    // Tab B, still on the old file, marks the second one and saves: refused, nothing lost.
    await b.locator(".card").nth(1).locator(".cid").click();
    await b.keyboard.press("c");
    await b.keyboard.press("Control+s");
    await b.waitForSelector("#banner.error:not([hidden])");
    assert.match((await b.textContent("#banner")) ?? "", /changed since this page loaded it .* nothing was written/);
    assert.equal((await readOverrides(review.overrides)).decisions.length, before + 1, "B wrote nothing");
    await b.screenshot({ path: join(SHOTS, "stale-save.png") });
    await b.click("#banner button");
    await b.waitForFunction(() => /Reloaded the file as it is now; your 1 unsaved decision/.test(document.querySelector("#message")?.textContent ?? ""));
    assert.match((await b.textContent("#save-state")) ?? "", /1 unsaved change/);
    await b.keyboard.press("Control+s");
    await b
      .waitForFunction((n) => new RegExp(`All saved: ${n} decision`).test(document.querySelector("#save-state")?.textContent ?? ""), before + 2)
      .catch(async (error) => {
        throw new Error(`${error}; the page says: ${await b.textContent("#save-state")} | ${await b.textContent("#message")} | ${await b.textContent("#banner")}`);
      });
    const final = await readOverrides(review.overrides);
    assert.deepEqual(final.decisions.slice(before).map((d) => [d.action, d.who]), [["check", "tabs"], ["check", "tabs"]]);
    // The browser logs the refused save (409) itself; nothing else went wrong.
    assert.deepEqual(pageErrors.filter((e) => !/status of 409 \(Conflict\)/.test(e)), []);
    await a.close();
    await b.close();
  } finally {
    await review.stop();
  }
});
