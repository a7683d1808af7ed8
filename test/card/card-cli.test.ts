/**
 * `idclusters card` through the real binary: renders from the card inputs `export` saves, merges
 * into the current card (local or on a Hub emulator) keeping hand-written text, takes new stats.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { checkCard, saveCardInputs } from "../../src/card/index.ts";
import { startHubEmulator } from "../hub-emulator/index.ts";
import { runCli } from "../support/run-cli.ts";
import { celebaInputs, celebaStats } from "./card-fixture.ts";

const CONFIG = fileURLToPath(new URL("../../configs/celebahq_512.yaml", import.meta.url));
const scratch = await mkdtemp(join(tmpdir(), "idclusters-card-cli-"));
after(() => rm(scratch, { recursive: true, force: true }));

async function releaseWithInputs(name: string): Promise<{ workDir: string; release: string }> {
  const workDir = join(scratch, name);
  const release = join(workDir, "release");
  await saveCardInputs({ inputs: celebaInputs(), path: join(release, "card-inputs.json") });
  return { workDir, release };
}

test("card renders from card-inputs.json, then re-renders with new stats keeping hand-written text", async () => {
  const { workDir, release } = await releaseWithInputs("local");
  const first = await runCli(["card", "--config", CONFIG, "--work-dir", workDir]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, join(release, "README.md") + "\n");
  const rendered = await readFile(join(release, "README.md"), "utf8");
  assert.deepEqual(checkCard({ cardText: rendered, inputs: celebaInputs() }), []);
  await readFile(join(release, "assets", "nn_similarity.svg"));

  const hand = "## Maintainer notes\n\nChecked 200 identities by hand.\n\n";
  await writeFile(join(release, "README.md"), rendered.replace("## Citation", hand + "## Citation").replace("---\n", "---\nmy_key: 1\n"));
  const stats = join(workDir, "cluster-stats.json");
  await writeFile(stats, JSON.stringify(celebaStats({ identities: 9_650 })));
  const second = await runCli(["card", "--config", CONFIG, "--work-dir", workDir, "--stats", stats, "--json"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).mergedFrom, join(release, "README.md"));
  const merged = await readFile(join(release, "README.md"), "utf8");
  assert.ok(merged.includes(hand));
  assert.match(merged, /^---\nmy_key: 1\n/);
  assert.ok(merged.includes("**9,650 identities over 27,996 images**"));
  // The saved inputs follow the new stats, so the card still checks out against them.
  const saved = JSON.parse(await readFile(join(release, "card-inputs.json"), "utf8")) as { clusterStats: { identities: number } };
  assert.equal(saved.clusterStats.identities, 9_650);
});

test("card without card inputs is a usage error (exit 2) that says what to run", async () => {
  const result = await runCli(["card", "--config", CONFIG, "--work-dir", join(scratch, "empty")]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /card-inputs\.json is missing: run idclusters export/);
});

test("card --existing repo@rev merges into the card published on the Hub", async () => {
  const hub = await startHubEmulator({ storage: join(scratch, "hub") });
  try {
    const published = "---\nlicense: mit\nx_curator: someone # by hand\n---\n# Published card\n\nWritten on the Hub.\n";
    await hub.seed({ repo: "acme/faces", files: { "README.md": published }, tag: "v1" });
    const { workDir, release } = await releaseWithInputs("hub");
    const result = await runCli(
      ["card", "--config", CONFIG, "--work-dir", workDir, "--existing", "acme/faces@v1", "--hub-url", hub.url, "--cache-dir", join(scratch, "cache")],
      { env: { HF_TOKEN: undefined } },
    );
    assert.equal(result.code, 0, result.stderr);
    const merged = await readFile(join(release, "README.md"), "utf8");
    assert.match(merged, /\nx_curator: someone # by hand\n/);
    assert.ok(merged.includes("# Published card\n\nWritten on the Hub.\n"));
    assert.ok(merged.includes("<!-- idclusters:begin nn-analysis -->"));
    assert.deepEqual(checkCard({ cardText: merged, inputs: celebaInputs() }), []);
  } finally {
    await hub.close();
  }
});
