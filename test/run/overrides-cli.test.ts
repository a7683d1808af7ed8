/**
 * Issue #13, "Applying corrections": a person's review decisions (`clustering.overrides`) applied
 * on every `run`, end to end on the fixture faces (8 people) against the Hub emulator. The release
 * is read back with DuckDB, not with the writer's own code.
 *  1. a release without overrides (v1): the 8 people, one identity each;
 *  2. a merge, a split, a move, an exclusion and a check: exactly those changes in the shards, every
 *     other identity keeps its id (stable ids on the reviewed labels), labels-sklearn.npy stays
 *     DBSCAN's, the card states the review and its changelog lists the manual decisions;
 *     `verify --config` passes, fails on a release that contradicts the decisions (naming the file)
 *     or whose card-inputs.json states another review (naming the field), and says plainly when it
 *     cannot check; `export --config` exports the config's review or stops (exit 2);
 *  3. a decision naming an image not in the source and a contradiction are reported by name (log
 *     and --json); `--strict-overrides` fails, nothing pushed, nothing built lost;
 *  4. a malformed decisions file is a usage error naming file:line, before any work;
 *  5. a new source revision with more images keeps every decision; no decision is new in its changelog;
 *     verifying the older release against this work dir is skipped (another build), not failed.
 * And exclusion under the other noise policies (`keep`, `drop`, and `drop` with `faces.no_face: keep`);
 * `--strict-overrides` without `clustering.overrides` is a usage error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpy } from "../../src/common/npy.ts";
import { openDuckDb, sqlString } from "../../src/release/open-duckdb.ts";
import { TOKEN, startEmulator } from "../hub/setup.ts";
import { facesWithoutFaces } from "../release/no-face-images.ts";
import { runCli } from "../support/run-cli.ts";

const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
const FACES = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const PEOPLE = ["amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart"];
const present = existsSync(join(FACES, "labels.json")) && existsSync(join(MODELS, "yunet_n_dynamic.onnx"));
const SKIP = "../shared/fixtures missing";

interface Row {
  fileName: string;
  id: number | null;
  size: number | null;
  /** SHA-256 of the image bytes as published. */
  sha: string;
}

/** Every row of the release's train shards, in published order, read by DuckDB. */
async function releaseRows(folder: string): Promise<Row[]> {
  const names = (await readdir(join(folder, "data"))).filter((n) => n.startsWith("train-") && n.endsWith(".parquet")).sort();
  const db = await openDuckDb();
  try {
    const rows: Row[] = [];
    for (const name of names) {
      const read = await db.all(
        `select file_name, cluster_id, cluster_size, lower(sha256(image.bytes)) as sha
           from read_parquet(${sqlString(join(folder, "data", name))}, file_row_number = true) order by file_row_number`,
      );
      for (const r of read) {
        rows.push({ fileName: String(r.file_name), id: r.cluster_id == null ? null : Number(r.cluster_id), size: r.cluster_size == null ? null : Number(r.cluster_size), sha: String(r.sha) });
      }
    }
    return rows;
  } finally {
    db.close();
  }
}

/** The identities as sorted groups of file names ("a.png b.png"), sorted: a partition, whatever the ids. */
function partition(rows: readonly Row[]): string[] {
  const groups = new Map<number, string[]>();
  for (const r of rows) if (r.id !== null && r.id >= 0) groups.set(r.id, [...(groups.get(r.id) ?? []), r.fileName]);
  return [...groups.values()].map((g) => g.sort().join(" ")).sort();
}

/** The partition `before` with the review's changes applied by hand (the test's own reading of the decisions). */
function reviewed(before: string[], edits: { merge?: [string, string][]; split?: string[]; move?: [string, string][]; exclude?: string[] }): string[] {
  let groups = before.map((g) => g.split(" "));
  const find = (file: string) => groups.findIndex((g) => g.includes(file));
  for (const [a, b] of edits.merge ?? []) {
    const [i, j] = [find(a), find(b)];
    if (i !== j) groups = [...groups.filter((_, k) => k !== i && k !== j), [...groups[i]!, ...groups[j]!]];
  }
  for (const file of edits.split ?? []) groups = [...groups.map((g) => g.filter((f) => f !== file)), [file]];
  for (const [file, into] of edits.move ?? []) {
    groups = groups.map((g) => g.filter((f) => f !== file));
    groups[find(into)]!.push(file);
  }
  for (const file of edits.exclude ?? []) groups = groups.map((g) => g.filter((f) => f !== file));
  return groups.filter((g) => g.length > 0).map((g) => g.sort().join(" ")).sort();
}

const fileSha = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

/** SHA-256 of every file of a folder (relative path -> hash): "nothing built was lost". */
async function folderHashes(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name).slice(folder.length + 1)] = await fileSha(join(e.parentPath, e.name));
  }
  return out;
}

function configText(params: { source: string; noise?: string; eps?: number; overrides?: string; target?: string; noFace?: "keep" | "drop" }): string {
  return `name: overrides_test
source: { path: ${params.source}, format: imagefolder, split: train }
models:
  detector: { kind: yunet, path: ${join(MODELS, "yunet_n_dynamic.onnx")}, sha256: 104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12, license: MIT, input_size: 320, score_threshold: 0.5 }
  recognizer: { path: ${join(MODELS, "mobilefacenet_arcface_512.onnx")}, sha256: 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581, license: MIT, mean: 127.5, std: 127.5 }
faces: { device: cpu, batch_size: 8${params.noFace ? `, no_face: ${params.noFace}` : ""} }
images: { transform: keep }
clustering: { eps: ${params.eps ?? 0.5}, min_samples: 2, noise: ${params.noise ?? "singleton"}, id_policy: stable${params.overrides ? `, overrides: ${params.overrides}` : ""} }
release: { target: ${params.target ?? "me/faces"}, row_group_size: 10 }
`;
}

interface DecisionSpec {
  id: string;
  action: "merge" | "split" | "exclude" | "check";
  files: string[];
  into?: string;
  why?: string;
}

/** The decisions file as `idclusters review` writes it: images by the SHA-256 of their source bytes. */
async function writeDecisions(path: string, source: string, decisions: DecisionSpec[], extraShas: Record<string, string> = {}): Promise<void> {
  const shaOf = async (file: string) => extraShas[file] ?? (await fileSha(join(source, file)));
  const lines = ["version: 1", "decisions:"];
  for (const d of decisions) {
    lines.push(`  - id: ${d.id}`, `    action: ${d.action}`, `    images:`);
    for (const file of d.files) lines.push(`      - ${await shaOf(file)}`);
    if (d.into) lines.push(`    into: ${await shaOf(d.into)}`);
    lines.push(`    files: [${d.files.join(", ")}]`, `    who: ada`, `    when: 2026-12-02T17:49:00.000Z`);
    if (d.why) lines.push(`    why: ${d.why}`);
  }
  await writeFile(path, lines.join("\n") + "\n");
}

const REVIEW: DecisionSpec[] = [
  { id: "m-amy-bernadette", action: "merge", files: ["amy/amy1.png", "bernadette/bernadette1.png"] },
  { id: "s-howard1", action: "split", files: ["howard/howard1.png"] },
  { id: "mv-leonard1", action: "split", files: ["leonard/leonard1.png"], into: "penny/penny1.png" },
  { id: "x-raj1", action: "exclude", files: ["raj/raj1.png"], why: "a photo of a photo" },
  { id: "k-sheldon", action: "check", files: [1, 2, 3, 4].map((n) => `sheldon/sheldon${n}.png`) },
];
const EDITS = {
  merge: [["amy/amy1.png", "bernadette/bernadette1.png"]] as [string, string][],
  split: ["howard/howard1.png"],
  move: [["leonard/leonard1.png", "penny/penny1.png"]] as [string, string][],
  exclude: ["raj/raj1.png"],
};

test("run applies the review's decisions after DBSCAN, on every run; verify checks them", { skip: !present && SKIP, timeout: 900_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-overrides-"));
  const { hub } = await startEmulator();
  t.after(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });
  // Source v1: images 1-4 of every person, a copied image folder (v2 adds the 5th).
  const source = join(dir, "faces");
  for (const person of PEOPLE) {
    await mkdir(join(source, person), { recursive: true });
    for (const n of [1, 2, 3, 4]) await cp(join(FACES, person, `${person}${n}.png`), join(source, person, `${person}${n}.png`));
  }
  const plainConfig = join(dir, "plain.yaml");
  const config = join(dir, "config.yaml");
  const review = join(dir, "review.yaml");
  await writeFile(plainConfig, configText({ source }));
  await writeFile(config, configText({ source, overrides: "review.yaml" }));
  const cacheDir = join(dir, "hf-cache");
  const env = { HF_TOKEN: TOKEN };
  const run = (configFile: string, workDir: string, ...args: string[]) =>
    runCli(["run", "--config", configFile, "--work-dir", workDir, "--hub-url", hub.url, "--cache-dir", cacheDir, "--decode-workers", "0", ...args], { env });
  const verify = (release: string, workDir: string, ...args: string[]) =>
    runCli(["verify", release, "--config", config, "--work-dir", workDir, "--hub-url", hub.url, "--cache-dir", cacheDir, ...args], { env });

  // 1. v1 without overrides: the 8 people.
  const plainWork = join(dir, "work-plain");
  const v1 = await run(plainConfig, plainWork, "--push", "--tag", "v1", "--json");
  assert.equal(v1.code, 0, v1.stderr);
  assert.equal(JSON.parse(v1.stdout).overrides, undefined, "no overrides, no report");
  const v1Rows = await releaseRows(join(plainWork, "release"));
  const people = PEOPLE.map((p) => [1, 2, 3, 4].map((n) => `${p}/${p}${n}.png`).join(" ")).sort();
  assert.deepEqual(partition(v1Rows), people, "DBSCAN finds the 8 people");

  // 2. The review: merge, split, move, exclude, check. The work dir is a copy: embed and cluster cached.
  await writeDecisions(review, source, REVIEW);
  const work = join(dir, "work");
  await cp(plainWork, work, { recursive: true });
  await rm(join(work, "release"), { recursive: true });
  const v2 = await run(config, work, "--push", "--tag", "v2", "--json");
  assert.equal(v2.code, 0, v2.stderr);
  const v2Json = JSON.parse(v2.stdout);
  assert.equal(v2Json.published.committed, true);
  assert.deepEqual(v2Json.stages, { embed: v2Json.stages.embed, cluster: "cached", overrides: "ran", ids: "ran", export: "ran" });
  assert.deepEqual(v2Json.overrides.applied, { merge: 1, split: 1, move: 1, exclude: 1, check: 1 });
  assert.deepEqual(v2Json.overrides.appliedIds, REVIEW.map((d) => d.id));
  assert.equal(v2Json.overrides.checkedIdentities, 1);
  assert.equal(v2Json.overrides.excludedImages, 1);
  assert.deepEqual(v2Json.overrides.problems, []);
  assert.equal(v2Json.overrides.sha256, await fileSha(review));

  const v2Rows = await releaseRows(join(work, "release"));
  assert.deepEqual(partition(v2Rows), reviewed(people, EDITS), "exactly the decided changes");
  assert.deepEqual(
    v2Rows.map((r) => r.fileName),
    v1Rows.map((r) => r.fileName).filter((f) => f !== "raj/raj1.png"),
    "the excluded image is gone, every other row in source order",
  );
  for (const r of v2Rows) assert.equal(r.size, v2Rows.filter((o) => o.id === r.id).length, `${r.fileName}: cluster_size counts its identity`);
  const v1ById = new Map(v1Rows.map((r) => [r.fileName, r]));
  for (const r of v2Rows) assert.equal(r.sha, v1ById.get(r.fileName)!.sha, `${r.fileName}: the same image bytes`);
  // Untouched identities keep their ids; the merge keeps one of the two, the split-off image is new.
  for (const person of ["raj", "sheldon", "stuart", "howard", "leonard", "penny"]) {
    const file = `${person}/${person}2.png`;
    assert.equal(v2Rows.find((r) => r.fileName === file)!.id, v1ById.get(file)!.id, `${person} keeps its id`);
  }
  const howard1 = v2Rows.find((r) => r.fileName === "howard/howard1.png")!;
  assert.ok(howard1.id! > Math.max(...v1Rows.map((r) => r.id!)), "the split-off image gets a fresh id");
  // labels-sklearn.npy stays DBSCAN's: 8 clusters of 4, one per person, in source order.
  const sklearn = readNpy(join(work, "labels-sklearn.npy")).data as BigInt64Array;
  assert.deepEqual([...sklearn].map(Number), PEOPLE.flatMap((_, k) => [k, k, k, k]));

  // The card and card-inputs.json state the review; the changelog tells manual changes apart.
  const card = await readFile(join(work, "release", "README.md"), "utf8");
  assert.match(card, /reviewed by a person: 1 of the 8 identities were checked and 5 review decision\(s\) applied\n\(1 merge\(s\), 2 split\(s\) or move\(s\), 1 exclusion\(s\)\)/);
  assert.match(card, /5\. \*\*Review\*\*: .* 1 merge\(s\), 1 split\(s\) into a new identity, 1 move\(s\) into another identity, 1 exclusion\(s\) \(1 image\(s\) left out of the release\) and 1 check\(s\); 1 identities of the release were checked by a person\./);
  assert.match(card, /\*\*31 images: 31 in 8 identities, 0 noise images/);
  assert.match(card, /1 image\(s\) were left out by the identity review/);
  assert.match(card, /\*\*Review decisions new since the previous release\*\*: 5 /);
  assert.match(card, /- manual merge \(decision `m-amy-bernadette`\): identity `\d+` now holds images of previous identities `\d+`, `\d+`/);
  assert.match(card, /- manual split \(decision `s-howard1`\): 1 image\(s\) of previous identity `\d+` now form identity `\d+`/);
  assert.match(card, /- manual move \(decision `mv-leonard1`\): 1 image\(s\) moved into identity `\d+`/);
  assert.match(card, /- manual exclusion \(decision `x-raj1`\): 1 image\(s\) left the release/);
  assert.match(card, /- manual check \(decision `k-sheldon`\)/);
  assert.doesNotMatch(card, /clustering (merge|split):/, "every merge and split since v1 is the review's");
  assert.doesNotMatch(card, /ada|a photo of a photo/, "who decided and why stay in the decisions file");
  const inputs = JSON.parse(await readFile(join(work, "release", "card-inputs.json"), "utf8"));
  assert.deepEqual(inputs.review.appliedIds, REVIEW.map((d) => d.id));
  assert.equal(inputs.review.checkedIdentities, 1);
  assert.equal(inputs.review.excludedImages, 1);
  assert.ok(inputs.changelog.merges.length > 0 && inputs.changelog.merges.every((m: { manual?: boolean }) => m.manual === true), JSON.stringify(inputs.changelog));
  assert.ok(inputs.changelog.splits.length > 0 && inputs.changelog.splits.every((s: { manual?: boolean }) => s.manual === true), JSON.stringify(inputs.changelog));

  // verify: the published release reflects the decisions; v1 does not (named by file); no work files: said so.
  const ok = await verify("me/faces@v2", work);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stderr, /cluster_id against clustering\.overrides/);
  const contradicted = await verify("me/faces@v1", work);
  assert.equal(contradicted.code, 1, contradicted.stdout + contradicted.stderr);
  assert.match(contradicted.stdout, /\(raj\/raj1\.png\): is in the release, but decisions\[3\] \(x-raj1\) of review\.yaml excluded it/);
  assert.match(contradicted.stdout, /card-inputs\.json: no review block, but .*config\.yaml sets clustering\.overrides \(review\.yaml\)/);
  assert.match(contradicted.stdout, /\(howard\/howard\d\.png\): cluster_id \d+ puts it with howard\/howard1\.png, but after the overrides they are different identities/);
  const skipped = await verify("me/faces@v2", join(dir, "empty-work"));
  assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
  assert.match(skipped.stderr, /the check of cluster_id against clustering\.overrides was skipped: the work dir .*empty-work lacks labels-sklearn\.npy, embeddings-index\.parquet/);
  // A shard edited to move amy1 out of its identity (cluster_size kept consistent) fails, naming amy1.
  const tampered = join(dir, "tampered");
  await cp(join(work, "release"), tampered, { recursive: true });
  const shard = (await readdir(join(tampered, "data"))).find((n) => n.endsWith(".parquet"))!;
  const stuartId = v2Rows.find((r) => r.fileName === "stuart/stuart1.png")!.id!;
  const db = await openDuckDb();
  try {
    const from = sqlString(join(work, "release", "data", shard));
    await db.all(
      `copy (select * exclude (file_row_number) replace (case when file_name = 'amy/amy1.png' then ${stuartId} else cluster_id end as cluster_id)
              from read_parquet(${from}, file_row_number = true) order by file_row_number) to ${sqlString(join(tampered, "data", shard))} (format parquet)`,
    );
  } finally {
    db.close();
  }
  const edited = await verify(tampered, work);
  assert.equal(edited.code, 1);
  // amy1 comes first: its (edited) id is taken as amy's, so amy's other images and stuart's are named against it.
  assert.match(edited.stdout, /\(amy\/amy2\.png\): cluster_id \d+, but after the overrides it is one identity with amy\/amy1\.png \(cluster_id \d+\)/);
  assert.match(edited.stdout, /\(stuart\/stuart1\.png\): cluster_id \d+ puts it with amy\/amy1\.png, but after the overrides they are different identities/);

  // The review the release states is checked too: card-inputs.json's review block against what the
  // decisions give now, field by field; a decisions file changed since (one byte) fails on its SHA-256.
  const restated = join(dir, "restated");
  await cp(join(work, "release"), restated, { recursive: true });
  const restatedInputs = JSON.parse(await readFile(join(restated, "card-inputs.json"), "utf8"));
  restatedInputs.review.appliedIds = restatedInputs.review.appliedIds.slice(1);
  await writeFile(join(restated, "card-inputs.json"), JSON.stringify(restatedInputs, null, 2) + "\n");
  const misstated = await verify(restated, work);
  assert.equal(misstated.code, 1, misstated.stdout + misstated.stderr);
  assert.match(misstated.stdout, /card-inputs\.json: review\.appliedIds is \["s-howard1",.*\], but review\.yaml applied to the work dir's build gives \["m-amy-bernadette",/);
  const reviewText = await readFile(review, "utf8");
  await writeFile(review, reviewText + "# a comment\n");
  const changedFile = await verify("me/faces@v2", work);
  assert.equal(changedFile.code, 1, changedFile.stdout + changedFile.stderr);
  assert.match(changedFile.stdout, /card-inputs\.json: review\.sha256 is [0-9a-f]{64}, but review\.yaml has SHA-256 [0-9a-f]{64}: the release was built with another version of the decisions/);

  // export --config follows the config's review, not whatever the work dir recorded last: a changed
  // decisions file, a config without one and labels.npy rewritten by cluster --config all stop it (exit 2).
  const exportWork = join(dir, "work-export");
  await cp(work, exportWork, { recursive: true, filter: (from) => basename(from) !== "release" });
  const exportTo = (configFile: string, out: string) =>
    runCli(["export", "--config", configFile, "--work-dir", exportWork, "--out", join(dir, out), "--hub-url", hub.url, "--cache-dir", cacheDir], { env });
  const stale = await exportTo(config, "export-stale");
  assert.equal(stale.code, 2, stale.stderr);
  assert.match(stale.stderr, /labels\.npy was reviewed with another version of review\.yaml .*run idclusters run --config .*config\.yaml first/);
  await writeFile(review, reviewText);
  const exported = await exportTo(config, "export-ok");
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(partition(await releaseRows(join(dir, "export-ok"))), reviewed(people, EDITS), "export --config leaves out what run left out");
  const unreviewed = await exportTo(plainConfig, "export-plain");
  assert.equal(unreviewed.code, 2, unreviewed.stderr);
  assert.match(unreviewed.stderr, /labels\.npy holds labels reviewed with a decisions file .*, but .*plain\.yaml names no clustering\.overrides/);
  const reclustered = await runCli(["cluster", "--config", config, "--work-dir", exportWork], { env });
  assert.equal(reclustered.code, 0, reclustered.stderr);
  const rewritten = await exportTo(config, "export-rewritten");
  assert.equal(rewritten.code, 2, rewritten.stderr);
  assert.match(rewritten.stderr, /labels\.npy is not the labels reviewed with review\.yaml .*: it was rewritten since idclusters run wrote it/);
  assert.ok(!existsSync(join(dir, "export-rewritten", "data")), "nothing exported");

  // 3. A decision naming an image not in the source, one contradicting an earlier one: reported by name.
  const v2Release = await folderHashes(join(work, "release"));
  const commits = (await hub.commits("me/faces")).length;
  await writeDecisions(
    review,
    source,
    [
      ...REVIEW,
      { id: "m-gone", action: "merge", files: ["gone/gone1.png", "stuart/stuart1.png"] },
      { id: "s-raj1", action: "split", files: ["raj/raj1.png"] },
    ],
    { "gone/gone1.png": createHash("sha256").update("an image that was removed from the source").digest("hex") },
  );
  const warned = await run(config, work, "--json");
  assert.equal(warned.code, 0, warned.stderr);
  const problems = JSON.parse(warned.stdout).overrides.problems as { kind: string; decision: string; index: number; fileName?: string; image: string }[];
  assert.deepEqual(
    problems.map((p) => [p.kind, p.decision, p.index, p.fileName]),
    [
      ["missing", "m-gone", 5, "gone/gone1.png"],
      ["contradiction", "s-raj1", 6, "raj/raj1.png"],
    ],
  );
  // Numbered as --json (index) and the file's parse errors number them: decisions[i], 0-based, with the id.
  assert.match(warned.stderr, /warning: review\.yaml: decisions\[5\] \(merge m-gone, by ada\): image gone\/gone1\.png \([0-9a-f]{12}\) is not in this build/);
  assert.match(warned.stderr, /warning: review\.yaml: decisions\[6\] \(split s-raj1, by ada\): image raj\/raj1\.png \([0-9a-f]{12}\) was excluded by decisions\[3\] \(x-raj1\)/);
  const strict = await run(config, work, "--push", "--strict-overrides");
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /--strict-overrides: 2 problem\(s\) with the decisions of .*review\.yaml; nothing was released or published:\n\s+decisions\[5\] \(merge m-gone/);
  assert.equal((await hub.commits("me/faces")).length, commits, "nothing pushed");
  // The non-strict run above rebuilt the same release (the two failed decisions change nothing but
  // the file's hash, hence the build key in card-inputs.json); the strict run touched nothing.
  const afterStrict = await folderHashes(join(work, "release"));
  assert.deepEqual(Object.keys(afterStrict).sort(), Object.keys(v2Release).sort());
  for (const path of Object.keys(v2Release).filter((p) => p.startsWith("data/"))) assert.equal(afterStrict[path], v2Release[path], `${path} kept`);

  // 4. A malformed file: exit 2 naming file:line, before any work (the work dir is never created).
  const bad = join(dir, "bad.yaml");
  await writeFile(join(dir, "bad-review.yaml"), `version: 1\ndecisions:\n  - id: d1\n    action: rename\n    images: [${"a".repeat(64)}]\n    who: ada\n    when: 2026-01-01\n`);
  await writeFile(bad, configText({ source, overrides: "bad-review.yaml" }));
  const malformed = await run(bad, join(dir, "work-bad"));
  assert.equal(malformed.code, 2, malformed.stderr);
  assert.match(malformed.stderr, /bad-review\.yaml:4: decisions\[0\]\.action: "rename" is not one of merge, split, exclude, check/);
  assert.ok(!existsSync(join(dir, "work-bad")), "nothing done");

  // 5. A new source revision with more images (the 5th of every person): every decision still holds,
  // none is new in the changelog, the check lapses (sheldon has a new image nobody looked at).
  await writeDecisions(review, source, REVIEW);
  for (const person of PEOPLE) await cp(join(FACES, person, `${person}5.png`), join(source, person, `${person}5.png`));
  const v3 = await run(config, work, "--push", "--tag", "v3", "--json");
  assert.equal(v3.code, 0, v3.stderr);
  const v3Json = JSON.parse(v3.stdout);
  assert.equal(v3Json.published.committed, true);
  assert.deepEqual(v3Json.overrides.appliedIds, REVIEW.map((d) => d.id));
  assert.deepEqual(v3Json.overrides.problems, []);
  assert.equal(v3Json.overrides.checkedIdentities, 0, "sheldon5 is new: the check no longer covers the identity");
  const v3Rows = await releaseRows(join(work, "release"));
  assert.equal(v3Rows.length, 39);
  const people5 = PEOPLE.map((p) => [1, 2, 3, 4, 5].map((n) => `${p}/${p}${n}.png`).join(" ")).sort();
  assert.deepEqual(partition(v3Rows), reviewed(people5, EDITS), "the decisions hold on the new revision");
  const v2ById = new Map(v2Rows.map((r) => [r.fileName, r.id]));
  for (const r of v3Rows) if (v2ById.has(r.fileName)) assert.equal(r.id, v2ById.get(r.fileName), `${r.fileName} keeps its v2 id`);
  const v3Card = await readFile(join(work, "release", "README.md"), "utf8");
  assert.match(v3Card, /\*\*Review decisions new since the previous release\*\*: 0 /);
  assert.match(v3Card, /- none: the previous release applied the same decisions/);
  assert.match(v3Card, /reviewed by a person: 0 of the 8 identities were checked and 5 review decision\(s\) applied/);
  const v3Verified = await verify("me/faces@v3", work);
  assert.equal(v3Verified.code, 0, v3Verified.stdout + v3Verified.stderr);
  // v2 against the work dir that now holds v3's build: not the review's fault, and said so (skipped).
  const olderBuild = await verify("me/faces@v2", work);
  assert.equal(olderBuild.code, 0, olderBuild.stdout + olderBuild.stderr);
  assert.match(olderBuild.stderr, /the check of cluster_id against clustering\.overrides was skipped: the work dir .* holds another build than this release \(its cluster-stats\.json: input_rows 40 there, 32 in the release\)/);

  // Unchanged inputs: the rerun reproduces the release byte for byte and publishes nothing.
  const again = await run(config, work, "--push", "--json");
  assert.equal(again.code, 0, again.stderr);
  const againJson = JSON.parse(again.stdout);
  assert.equal(againJson.published.committed, false);
  assert.equal(againJson.stages.overrides, "cached");
});

test("an exclusion leaves the release under every noise policy, and verify agrees", { skip: !present && SKIP, timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-overrides-noise-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const decisions: DecisionSpec[] = [
    { id: "x-stuart2", action: "exclude", files: ["stuart/stuart2.png"], why: "duplicate" },
    { id: "m-amy-bernadette", action: "merge", files: ["amy/amy1.png", "bernadette/bernadette1.png"] },
    // stuart5 is the one noise image at eps 0.45: kept as -1, a singleton, or dropped.
    { id: "mv-stuart5", action: "split", files: ["stuart/stuart5.png"], into: "stuart/stuart1.png" },
  ];
  await writeDecisions(join(dir, "review.yaml"), FACES, decisions);
  // The faces and two images without a face, kept (null cluster_id) under noise: drop: their zero
  // embedding rows are DBSCAN noise, dropped from the labels, yet an exclusion must reach them.
  const withoutFaces = await facesWithoutFaces(dir);
  await writeDecisions(join(dir, "review-no-face.yaml"), withoutFaces, [...decisions, { id: "x-gradient-a", action: "exclude", files: ["gradient-a.png"], why: "no person" }]);
  const cases = [
    { noise: "keep", name: "keep" },
    { noise: "drop", name: "drop" },
    { noise: "singleton", name: "singleton" },
    { noise: "drop", noFace: "keep", name: "drop-no-face-keep" },
  ] as const;
  let base: string | undefined;
  for (const c of cases) {
    const { noise, name } = c;
    const noFace = "noFace" in c;
    const config = join(dir, `${name}.yaml`);
    // eps 0.45: one image of the fixtures is DBSCAN noise, so each policy has something to do.
    await writeFile(
      config,
      configText({
        source: noFace ? withoutFaces : FACES,
        noise,
        eps: 0.45,
        overrides: noFace ? "review-no-face.yaml" : "review.yaml",
        target: "local/none",
        ...(noFace && { noFace: "keep" as const }),
      }),
    );
    const work = join(dir, `work-${name}`);
    if (base) await cp(base, work, { recursive: true, filter: (from) => basename(from) !== "release" });
    base ??= work;
    const built = await runCli(["run", "--config", config, "--work-dir", work, "--decode-workers", "0", "--json"], { env: { HF_HUB_OFFLINE: "1" } });
    assert.equal(built.code, 0, `${name}: ${built.stderr}`);
    const report = JSON.parse(built.stdout).overrides;
    const rows = await releaseRows(join(work, "release"));
    const inputs = JSON.parse(await readFile(join(work, "release", "card-inputs.json"), "utf8"));
    // With no_face: keep the two zero rows are DBSCAN noise too.
    assert.equal(inputs.clusterStats.noise_rows, noFace ? 3 : 1, "eps 0.45 makes one image noise");
    assert.ok(!rows.some((r) => r.fileName === "stuart/stuart2.png"), `${name}: stuart2 is excluded`);
    const id = (file: string) => rows.find((r) => r.fileName === file)?.id;
    assert.ok(id("amy/amy2.png") !== undefined && id("amy/amy2.png") === id("bernadette/bernadette2.png"), `${name}: amy and bernadette merged`);
    assert.equal(rows.filter((r) => r.id === -1).length, 0, `${name}: the noise image was moved into stuart, or dropped`);
    if (noise === "drop") {
      // The noise image is not in this build: the move is reported, with why.
      assert.deepEqual(report.appliedIds, ["x-stuart2", "m-amy-bernadette", ...(noFace ? ["x-gradient-a"] : [])]);
      assert.equal(report.problems.length, 1, JSON.stringify(report.problems));
      assert.match(report.problems[0].message, /decisions\[2\] \(split mv-stuart5, by ada\): image stuart\/stuart5\.png \([0-9a-f]{12}\) was left out of this build as DBSCAN noise/);
    } else {
      assert.deepEqual(report.appliedIds, ["x-stuart2", "m-amy-bernadette", "mv-stuart5"], name);
      assert.equal(id("stuart/stuart5.png"), id("stuart/stuart1.png"), `${name}: stuart5 moved into stuart`);
    }
    assert.equal(rows.length, noise === "drop" ? (noFace ? 39 : 38) : 39, `${name}: rows`);
    if (noFace) {
      // gradient-a excluded; gradient-b kept without an identity; the card's DBSCAN counts are of the 40 faces.
      assert.deepEqual(rows.filter((r) => r.fileName.startsWith("gradient-")).map((r) => [r.fileName, r.id, r.size]), [["gradient-b.png", null, null]]);
      assert.equal(inputs.review.excludedImages, 2);
      assert.equal(inputs.review.excludedWithoutFace, 1);
      const card = await readFile(join(work, "release", "README.md"), "utf8");
      assert.match(card, /DBSCAN found 8 clusters and 1 noise images among the 40 images with a face/);
      assert.match(card, /1 image\(s\) were left out as clustering noise \(noise policy `drop`\)/);
      assert.match(card, /2 image\(s\) were left out by the identity review/);
    } else assert.equal(inputs.review.excludedImages, 1);
    const verified = await runCli(["verify", join(work, "release"), "--config", config, "--work-dir", work], { env: { HF_HUB_OFFLINE: "1" } });
    assert.equal(verified.code, 0, `${name}: ${verified.stdout}${verified.stderr}`);
    assert.match(verified.stderr, /cluster_id against clustering\.overrides/);
  }
});

test("--strict-overrides without clustering.overrides is a usage error naming the key, before any work", { skip: !present && SKIP }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-strict-"));
  try {
    const config = join(dir, "plain.yaml");
    await writeFile(config, configText({ source: FACES }));
    const work = join(dir, "work");
    const result = await runCli(["run", "--config", config, "--work-dir", work, "--strict-overrides"], { env: { HF_HUB_OFFLINE: "1" } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--strict-overrides checks the review's decisions, but .*plain\.yaml sets no clustering\.overrides/);
    assert.ok(!existsSync(work), "nothing done");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
