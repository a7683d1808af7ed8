import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseHubRepo } from "../hub/index.ts";
import { ConfigError, loadConfig, parseConfig, CONFIG_SCHEMA_PATH } from "./index.ts";

const configsDir = fileURLToPath(new URL("../../configs/", import.meta.url));

// Local paths in a config must exist, so the test configs live beside a real (empty) model file.
const cfgDir = mkdtempSync(join(tmpdir(), "idc-config-"));
const CFG = join(cfgDir, "test.yaml");
writeFileSync(join(cfgDir, "rec.onnx"), "");
mkdirSync(join(cfgDir, "faces"));
after(() => rmSync(cfgDir, { recursive: true, force: true }));

const minimal = `name: demo
source:
  repo: ns/source
  revision: main
models:
  detector:
    kind: scrfd
    repo: ns/det
    file: det.onnx
    revision: abc
  recognizer:
    path: ./rec.onnx
release:
  target: ns/target
`;

function problemsOf(text: string) {
  try {
    parseConfig(text, { file: CFG });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail("config was accepted");
}

test("the release config holds every value of the reference pipeline", async () => {
  const config = await loadConfig({ file: `${configsDir}celebahq_512.yaml`, cwd: "/tmp/x" });
  assert.deepEqual(config.source.location, {
    kind: "hub",
    repo: "jxie/celeba-hq",
    revision: "7ecc6a45edfb5483ccf2f7df1035d298ffe7c76b",
  });
  assert.equal(config.source.split, "train");
  assert.deepEqual(config.detector.location, {
    kind: "hub",
    repo: "DIAMONIK7777/antelopev2",
    file: "scrfd_10g_bnkps.onnx",
    revision: "ba0c3e10f4548361eb9a63265d87ce1140ab5a05",
  });
  assert.deepEqual(config.recognizer.location, {
    kind: "hub",
    repo: "FoivosPar/Arc2Face",
    file: "arcface.onnx",
    revision: "321709b2e9697ea2a5bd06c8a51b340592333e1e",
  });
  assert.equal(config.detector.kind, "scrfd");
  assert.equal(config.detector.inputSize, 256);
  assert.equal(config.detector.scoreThreshold, 0.2);
  assert.equal(config.detector.nmsThreshold, 0.4);
  assert.deepEqual([config.recognizer.mean, config.recognizer.std], [127.5, 127.5]);
  assert.deepEqual(config.clustering, { eps: 0.35, minSamples: 2, noise: "singleton", idPolicy: "sklearn-order" });
  assert.equal(config.images.transform, "resize");
  assert.equal(config.images.size, 512);
  assert.equal(config.faces.noFace, "drop");
  assert.equal(config.release.target, "edgarcancinoe/celebahq_512_id_clusters");
  assert.equal(config.release.maxShardSize, 500_000_000);
  assert.equal(config.workDir, "/tmp/x/.idclusters/celebahq_512_id_clusters");
});

test("every config in configs/ is valid", async (t) => {
  const files = readdirSync(configsDir).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 2);
  // fixtures-local.yaml names files in ../shared/fixtures, which a bare checkout lacks.
  const fixtures = existsSync(resolve(configsDir, "../../shared/fixtures"));
  for (const f of files) {
    if (!fixtures && readFileSync(configsDir + f, "utf8").includes("shared/fixtures")) t.diagnostic(`${f}: skipped, no ../shared/fixtures`);
    else await loadConfig({ file: configsDir + f });
  }
});

test("defaults are filled and local paths resolve against the config's folder", () => {
  const config = parseConfig(minimal, { file: CFG, cwd: "/home/u" });
  assert.deepEqual(config.recognizer.location, { kind: "local", path: join(cfgDir, "rec.onnx") });
  assert.equal(config.detector.inputSize, 640);
  assert.equal(config.faces.batchSize, 32);
  assert.equal(config.clustering.eps, 0.35);
  assert.equal(config.release.split, "train");
  assert.equal(config.workDir, "/home/u/.idclusters/demo");
  assert.equal(parseConfig(minimal, { file: CFG, workDir: "/w" }).workDir, "/w");
});

test("an unknown key names the file, the key path and its line", () => {
  const text = minimal.replace("    kind: scrfd\n", "    kind: scrfd\n    det_szie: 256\n");
  const error = problemsOf(text);
  assert.equal(error.problems.length, 1);
  assert.deepEqual(error.problems[0], {
    keyPath: "models.detector.det_szie",
    line: 8,
    column: 5,
    message: 'unknown key "det_szie"',
  });
  assert.ok(error.message.includes(`${CFG}:8:5: models.detector.det_szie: unknown key "det_szie"`), error.message);
});

test("a wrong type and a bad enum are located on their values", () => {
  const text = minimal + "clustering:\n  eps: high\n  noise: maybe\n";
  const error = problemsOf(text);
  const byKey = new Map(error.problems.map((p) => [p.keyPath, p]));
  assert.equal(byKey.get("clustering.eps")?.line, 16);
  assert.match(byKey.get("clustering.eps")!.message, /number/);
  assert.equal(byKey.get("clustering.noise")?.line, 17);
  assert.match(byKey.get("clustering.noise")!.message, /"singleton", "keep", "drop"/);
});

test("out-of-range eps is refused", () => {
  const error = problemsOf(minimal + "clustering:\n  eps: 2\n");
  assert.equal(error.problems[0]?.keyPath, "clustering.eps");
});

test("a missing required key names it", () => {
  const error = problemsOf(minimal.replace("release:\n  target: ns/target\n", ""));
  assert.deepEqual(
    error.problems.map((p) => p.keyPath),
    ["release"],
  );
});

test("repo and path together, or a repo without revision, are refused", () => {
  const both = problemsOf(minimal.replace("    path: ./rec.onnx\n", "    path: ./rec.onnx\n    repo: ns/rec\n"));
  assert.equal(both.problems[0]?.keyPath, "models.recognizer");
  assert.equal(both.problems[0]?.line, 12);
  const noRevision = problemsOf(minimal.replace("  revision: main\n", ""));
  assert.match(noRevision.message, /source\.repo needs source\.revision/);
});

test("YAML syntax errors and duplicate keys carry their line", () => {
  const syntax = problemsOf(minimal + "release: [unclosed\n");
  assert.ok(syntax.problems[0]!.line >= 14);
  const duplicate = problemsOf(minimal.replace("name: demo\n", "name: demo\nname: again\n"));
  assert.equal(duplicate.problems[0]?.line, 2);
});

test("a missing config file is a usage error naming the file", async () => {
  await assert.rejects(loadConfig({ file: "/nonexistent/x.yaml" }), (error: Error & { exitCode?: number }) => {
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /\/nonexistent\/x\.yaml/);
    return true;
  });
});

test("every schema key is mapped into ReleaseConfig", () => {
  // Guards the hand-written mapping: a key added to the schema but not read would be silently ignored.
  const schema = JSON.parse(readFileSync(CONFIG_SCHEMA_PATH, "utf8"));
  const source = readFileSync(fileURLToPath(new URL("./load-config.ts", import.meta.url)), "utf8");
  const keys = new Set<string>();
  const walk = (node: { properties?: Record<string, unknown> }) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      keys.add(key);
      walk(child as { properties?: Record<string, unknown> });
    }
  };
  walk(schema);
  // images.* is copied whole; $schema is for editors only.
  const exempt = new Set(["$schema", "transform", "size", "fit", "kernel", "format", "quality", "models"]);
  for (const key of keys) {
    if (!exempt.has(key)) assert.ok(source.includes(`.${key}`) || source.includes(`${key}:`), `schema key ${key} is not read`);
  }
});

/** The one problem line of a rejected config, as the CLI prints it. */
function onlyProblem(text: string): string {
  const error = problemsOf(text);
  assert.equal(error.problems.length, 1, error.message);
  return error.message.split("\n")[1]!.trim();
}

test("license: other needs license_name and license_link, located on the license", () => {
  const card = "  card:\n    pretty_name: Faces\n    license: other\n";
  const error = problemsOf(minimal + card);
  assert.equal(
    error.message,
    `invalid config ${CFG}:\n` +
      `  ${CFG}:17:14: release.card.license_name: is required when release.card.license is "other"\n` +
      `  ${CFG}:17:14: release.card.license_link: is required when release.card.license is "other"`,
  );
  assert.equal(
    onlyProblem(minimal + card + "    license_name: celeba-hq\n"),
    `${CFG}:17:14: release.card.license_link: is required when release.card.license is "other"`,
  );
  const complete = parseConfig(minimal + card + "    license_name: celeba-hq\n    license_link: https://example.org/l\n", { file: CFG });
  assert.deepEqual([complete.release.card.license, complete.release.card.licenseName], ["other", "celeba-hq"]);
  // Any other licence needs neither.
  assert.equal(parseConfig(minimal + "  card: {license: mit}\n", { file: CFG }).release.card.license, "mit");
});

const BAD_REPO_IDS = ["local/..", "a/b/c", "a", "a b/c", "a/ b", "-a/b", "a/b.", "a--b/c", "a/b..c", "", "/b", "a/", `x/${"n".repeat(97)}`];
const GOOD_REPO_IDS = ["a/b", "jxie/celeba-hq", "A1/b.c_d-e", "local/fixture-faces-id-clusters", `x/${"n".repeat(96)}`];
const REPO_RULE =
  'must be a Hub repo id namespace/name (letters, digits, "-", "_", "."; each part at most 96 characters, ' +
  'not starting or ending with "-" or ".", no "--" or "..")';

test("release.target, source.repo and model repos must be Hub repo ids", () => {
  for (const bad of BAD_REPO_IDS) {
    const text = minimal.replace("  target: ns/target\n", `  target: ${JSON.stringify(bad)}\n`);
    assert.equal(onlyProblem(text), `${CFG}:14:11: release.target: ${REPO_RULE}, got ${JSON.stringify(bad)}`, bad);
  }
  assert.equal(
    onlyProblem(minimal.replace("  repo: ns/source\n", "  repo: local/..\n")),
    `${CFG}:3:9: source.repo: ${REPO_RULE}, got "local/.."`,
  );
  assert.equal(
    onlyProblem(minimal.replace("    repo: ns/det\n", "    repo: det\n")),
    `${CFG}:8:11: models.detector.repo: ${REPO_RULE}, got "det"`,
  );
  for (const good of GOOD_REPO_IDS) {
    const text = minimal.replace("  target: ns/target\n", `  target: ${good}\n`);
    assert.equal(parseConfig(text, { file: CFG }).release.target, good);
  }
});

test("the config's repo id rule is the one push --repo applies", () => {
  // Two implementations of one Hub rule (the schema's pattern for editors, parseHubRepo for flags) must agree.
  for (const id of [...BAD_REPO_IDS, ...GOOD_REPO_IDS, "_a/b", "a/b_", "a.b/c-d", "a-/b", "a/.b"]) {
    let flagOk = true;
    try {
      parseHubRepo(id);
    } catch {
      flagOk = false;
    }
    let configOk = true;
    try {
      parseConfig(minimal.replace("  target: ns/target\n", `  target: ${JSON.stringify(id)}\n`), { file: CFG });
    } catch {
      configOk = false;
    }
    assert.equal(configOk, flagOk, `${JSON.stringify(id)}: config ${configOk ? "accepts" : "refuses"}, parseHubRepo ${flagOk ? "accepts" : "refuses"}`);
  }
});

test("local paths named by the config must exist", () => {
  const missingModel = minimal.replace("    path: ./rec.onnx\n", "    path: ./missing.onnx\n");
  assert.equal(onlyProblem(missingModel), `${CFG}:12:11: models.recognizer.path: ${join(cfgDir, "missing.onnx")} does not exist`);
  const folderModel = minimal.replace("    path: ./rec.onnx\n", "    path: ./faces\n");
  assert.equal(onlyProblem(folderModel), `${CFG}:12:11: models.recognizer.path: ${join(cfgDir, "faces")} is not a file`);
  const missingSource = minimal.replace("  repo: ns/source\n  revision: main\n", "  path: ../nowhere\n");
  assert.equal(onlyProblem(missingSource), `${CFG}:3:9: source.path: ${resolve(cfgDir, "../nowhere")} does not exist`);
  const localSource = parseConfig(minimal.replace("  repo: ns/source\n  revision: main\n", "  path: faces\n"), { file: CFG });
  assert.deepEqual(localSource.source.location, { kind: "local", path: join(cfgDir, "faces") });
});

test("release.private is optional without a default; release.gated takes a prompt and form fields", () => {
  const plain = parseConfig(minimal, { file: CFG });
  assert.equal("private" in plain.release, false, "unset private must stay unset (the Hub's default applies)");
  assert.equal(plain.release.gated, undefined);
  assert.equal(parseConfig(minimal + "  private: false\n", { file: CFG }).release.private, false);
  assert.equal(parseConfig(minimal + "  private: true\n", { file: CFG }).release.private, true);

  const gated = parseConfig(
    minimal + "  gated: manual\n  gated_prompt: Research use only.\n  gated_fields:\n    Affiliation: text\n    Country: country\n    I agree: checkbox\n    Date: date_picker\n",
    { file: CFG },
  );
  assert.deepEqual(gated.release.gated, {
    mode: "manual",
    prompt: "Research use only.",
    fields: { Affiliation: "text", Country: "country", "I agree": "checkbox", Date: "date_picker" },
  });
  assert.deepEqual(Object.keys(gated.release.gated!.fields!), ["Affiliation", "Country", "I agree", "Date"], "the form keeps the config's order");
  assert.deepEqual(parseConfig(minimal + "  gated: auto\n", { file: CFG }).release.gated, { mode: "auto" });
});

test("bad gated keys name the key and its line", () => {
  assert.equal(onlyProblem(minimal + "  gated: yes\n"), `${CFG}:15:10: release.gated: must be one of "auto", "manual"`);
  assert.equal(onlyProblem(minimal + "  private: maybe\n"), `${CFG}:15:12: release.private: must be boolean`);
  assert.equal(onlyProblem(minimal + "  gated_prompt: Why?\n"), `${CFG}:15:3: release.gated_prompt: needs release.gated`);
  assert.equal(
    onlyProblem(minimal + "  gated: auto\n  gated_fields:\n    Company: text\n    Email: email\n"),
    `${CFG}:18:12: release.gated_fields.Email: must be one of "text", "checkbox", "date_picker", "country"`,
  );
});
