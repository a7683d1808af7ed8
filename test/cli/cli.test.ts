import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/run-cli.ts";

const releaseConfig = fileURLToPath(new URL("../../configs/celebahq_512.yaml", import.meta.url));

test("--help lists the commands and exits 0", async () => {
  const result = await runCli(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /idclusters <command>/);
  assert.match(result.stdout, /config\s+validate a config/);
});

test("an unknown command is a usage error (exit 2)", async () => {
  const result = await runCli(["frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /frobnicate/);
});

test("config --json prints the resolved release config", async () => {
  const result = await runCli(["config", "--config", releaseConfig, "--json", "--work-dir", "/tmp/w"]);
  assert.equal(result.code, 0, result.stderr);
  const config = JSON.parse(result.stdout);
  assert.equal(config.release.target, "edgarcancinoe/celebahq_512_id_clusters");
  assert.equal(config.workDir, "/tmp/w");
});

test("a bad config exits 2 with file, line and key", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idc-cli-"));
  const file = join(dir, "bad.yaml");
  writeFileSync(file, "name: x\nsource: {path: .}\nmodels:\n  detector: {kind: dlib, path: d.onnx}\n  recognizer: {path: r.onnx}\nrelease: {target: a/b}\n");
  const result = await runCli(["config", "--config", file]);
  assert.equal(result.code, 2);
  assert.ok(result.stderr.includes(`${file}:4:`), result.stderr);
  assert.match(result.stderr, /models\.detector\.kind: must be one of "scrfd", "yunet"/);
});
