/**
 * `idclusters embed`, `cluster`, `export` and `verify` end to end on the fixture config (40 faces,
 * YuNet + MobileFaceNet, all local): the release folder passes `verify`, a rerun gives
 * byte-identical shards and card, and `verify` fails on a card edited to disagree with the data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../configs/fixtures-local.yaml", import.meta.url));
const present = existsSync(join(FIXTURES, "faces", "labelled", "labels.json")) && existsSync(join(FIXTURES, "models", "yunet_n_dynamic.onnx"));

test("export from real embed + cluster outputs passes verify, reruns byte for byte, and verify catches a lying card", { skip: !present && "../shared/fixtures missing", timeout: 300_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "idclusters-export-"));
  t.after(() => rm(work, { recursive: true, force: true }));
  const env = { IDCLUSTERS_FIXTURES: FIXTURES };
  for (const step of [["embed"], ["cluster"]]) {
    const r = await runCli([...step, "--config", CONFIG, "--work-dir", work, "--quiet"], { env });
    assert.equal(r.code, 0, `${step[0]}: ${r.stderr}`);
  }
  const outA = join(work, "release-a");
  const outB = join(work, "release-b");
  const a = await runCli(["export", "--config", CONFIG, "--work-dir", work, "--out", outA, "--json", "--quiet"], { env });
  assert.equal(a.code, 0, a.stderr);
  const summary = JSON.parse(a.stdout) as { numExamples: number; shards: { path: string }[]; readme: string };
  assert.equal(summary.numExamples, 40);
  assert.ok(existsSync(join(outA, "README.md")) && existsSync(join(outA, "assets")));

  const verified = await runCli(["verify", outA, "--config", CONFIG, "--work-dir", work], { env });
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stderr, /card generated numbers/);

  const b = await runCli(["export", "--config", CONFIG, "--work-dir", work, "--out", outB, "--quiet"], { env });
  assert.equal(b.code, 0, b.stderr);
  const files = async (dir: string) => (await readdir(dir, { recursive: true })).filter((f) => /\.(parquet|md|svg|json)$/.test(f)).sort();
  assert.deepEqual(await files(outA), await files(outB));
  for (const f of await files(outA)) assert.ok(readFileSync(join(outA, f)).equals(readFileSync(join(outB, f))), `${f} differs between runs`);

  // Contact sheets: 3 clusters (largest first, then the weakest-linked), one labelled row each.
  const sheets = join(work, "sheets");
  const inspect = await runCli(["inspect", outA, "--clusters", "3", "--config", CONFIG, "--work-dir", work, "--out", sheets, "--json", "--quiet"], { env });
  assert.equal(inspect.code, 0, inspect.stderr);
  const report = JSON.parse(inspect.stdout) as { pages: string[]; clusters: { clusterId: number; size: number; weakestLink: number | null; why: string }[] };
  assert.equal(report.pages.length, 1);
  assert.deepEqual(report.clusters.map((c) => c.why), ["largest", "largest", "borderline"]);
  assert.ok(report.clusters.every((c) => c.weakestLink === null || (c.weakestLink > 0 && c.weakestLink <= 1)));
  const sharp = (await import("sharp")).default;
  const meta = await sharp(report.pages[0]!).metadata();
  assert.deepEqual([meta.format, meta.height], ["png", 3 * (22 + 96 + 8)]);

  // A card that claims one more image than the shards hold fails verify (exit 1), naming the number.
  const card = readFileSync(join(outA, "README.md"), "utf8");
  await writeFile(join(outA, "README.md"), card.replace("num_examples: 40", "num_examples: 41"));
  const lying = await runCli(["verify", outA, "--config", CONFIG, "--work-dir", work], { env });
  assert.equal(lying.code, 1);
  assert.match(lying.stdout, /num_examples 41, the shards hold 40/);
});

test("export without the embed and cluster outputs is a usage error naming the missing step", { skip: !present && "../shared/fixtures missing" }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "idclusters-export-empty-"));
  t.after(() => rm(work, { recursive: true, force: true }));
  const r = await runCli(["export", "--config", CONFIG, "--work-dir", work], { env: { IDCLUSTERS_FIXTURES: FIXTURES } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /embeddings-index\.parquet is missing: run idclusters embed --config/);
  const v = await runCli(["verify", join(work, "nothing-here")]);
  assert.equal(v.code, 2, v.stderr);
});
