import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, parseConfig, CONFIG_SCHEMA_PATH } from "./index.ts";

const configsDir = fileURLToPath(new URL("../../configs/", import.meta.url));

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
    parseConfig(text, { file: "/cfg/test.yaml" });
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

test("every config in configs/ is valid", async () => {
  const files = readdirSync(configsDir).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 2);
  for (const f of files) await loadConfig({ file: configsDir + f });
});

test("defaults are filled and local paths resolve against the config's folder", () => {
  const config = parseConfig(minimal, { file: "/cfg/test.yaml", cwd: "/home/u" });
  assert.deepEqual(config.recognizer.location, { kind: "local", path: "/cfg/rec.onnx" });
  assert.equal(config.detector.inputSize, 640);
  assert.equal(config.faces.batchSize, 32);
  assert.equal(config.clustering.eps, 0.35);
  assert.equal(config.release.split, "train");
  assert.equal(config.workDir, "/home/u/.idclusters/demo");
  assert.equal(parseConfig(minimal, { file: "/cfg/test.yaml", workDir: "/w" }).workDir, "/w");
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
  assert.match(error.message, /\/cfg\/test\.yaml:8:5: models\.detector\.det_szie: unknown key "det_szie"/);
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
