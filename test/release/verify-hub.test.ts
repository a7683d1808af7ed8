/**
 * `idclusters verify <repo@rev>`: a release pushed to the local Hub emulator is pulled at the tag
 * and verified like a folder; a tag pointing at a broken release fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pushFolder } from "../../src/hub/index.ts";
import { listImageFolder, openImageFolder } from "../../src/source/index.ts";
import { exportRelease } from "../../src/release/export-release.ts";
import { FAST_RETRIES, TOKEN, startEmulator } from "../hub/setup.ts";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");

test("verify repo@tag pulls the release from the Hub and checks it; a broken revision fails", { skip: !existsSync(FACES) && "../shared/fixtures missing", timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-verify-hub-"));
  const { hub } = await startEmulator();
  t.after(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  const entries = await listImageFolder({ folder: FACES });
  const folder = join(dir, "release");
  const result = await exportRelease({
    source: await openImageFolder({ folder: FACES }),
    index: entries.map((e, row) => ({ row, fileName: e.fileName, imageSha256: null, status: "ok", reason: null, embeddingRow: row })),
    labels: BigInt64Array.from(entries, (_, i) => BigInt(Math.floor(i / 5))),
    passThrough: [],
    outDir: folder,
    split: "train",
    maxShardSize: 300_000,
    rowGroupSize: 10,
    spoolPath: join(dir, "spool.bin"),
  });
  const { numBytes, numExamples, downloadSize } = result.data;
  const card = (examples: number) =>
    `---\ndataset_info:\n  features:\n  - name: image\n    dtype: image\n  - name: file_name\n    dtype: string\n  - name: cluster_id\n    dtype: int64\n  - name: cluster_size\n    dtype: int64\n` +
      `  splits:\n  - name: train\n    num_bytes: ${numBytes}\n    num_examples: ${examples}\n  download_size: ${downloadSize}\n  dataset_size: ${numBytes}\n---\n# faces\n`;
  await writeFile(join(folder, "README.md"), card(numExamples));
  const push = (tag: string) => pushFolder({ repo: "me/faces", folder, hubUrl: hub.url, accessToken: TOKEN, retryPolicy: FAST_RETRIES, tag, message: tag });
  await push("v1");
  // v2's card claims rows the shards do not hold.
  await writeFile(join(folder, "README.md"), card(numExamples + 2));
  await push("v2");

  const cli = (rev: string) =>
    runCli(["verify", `me/faces@${rev}`, "--hub-url", hub.url, "--token", TOKEN, "--cache-dir", join(dir, "cache"), "--json"]);
  const good = await cli("v1");
  assert.equal(good.code, 0, good.stderr);
  const report = JSON.parse(good.stdout) as { ok: boolean; splits: { numExamples: number; shards: unknown[] }[] };
  assert.equal(report.ok, true);
  assert.equal(report.splits[0]!.numExamples, 40);
  assert.equal(report.splits[0]!.shards.length, result.data.shards.length);
  assert.ok(result.data.shards.length >= 2);

  const bad = await cli("v2");
  assert.equal(bad.code, 1, bad.stderr);
  const badReport = JSON.parse(bad.stdout) as { ok: boolean; problems: string[] };
  assert.equal(badReport.ok, false);
  assert.deepEqual(badReport.problems, [`README.md: train num_examples ${numExamples + 2}, the shards hold ${numExamples}`]);
  assert.ok(!bad.stderr.includes(TOKEN) && !good.stderr.includes(TOKEN));
});
