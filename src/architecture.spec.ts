/**
 * The house rules of docs/ARCHITECTURE.md, checked on the import graph of src/ so they stay true:
 * - a stage folder never imports the composition (`pipeline/`) or the command line (`cli/`);
 * - from outside its folder a stage is imported only through its `index.ts` (its public surface);
 * - `common/` is the shared library: anyone may use it, it uses no stage;
 * - `pipeline/` never imports `cli/`.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const SRC = dirname(new URL(import.meta.url).pathname);
const STAGES = ["config", "hub", "source", "faces", "embed", "cluster", "identities", "release", "card", "review"];
const FOLDERS = [...STAGES, "common", "pipeline", "cli"];

interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

/** Every relative import of every source file (static, dynamic, re-export, type-only), as src-relative paths. */
function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"));
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const file of files) {
    const text = readFileSync(join(SRC, file), "utf8");
    for (const match of text.matchAll(pattern)) {
      const line = text.slice(0, match.index).split("\n").length;
      const to = relative(SRC, resolve(SRC, dirname(file), match[1]!)).split(sep).join("/");
      edges.push({ from: file.split(sep).join("/"), to, line });
    }
  }
  return edges;
}

const folderOf = (path: string) => path.split("/")[0]!;

test("the import graph was read (the rules below are not vacuous)", () => {
  const edges = importEdges();
  assert.ok(edges.length > 200, `only ${edges.length} imports found`);
  for (const folder of FOLDERS) assert.ok(edges.some((e) => folderOf(e.from) === folder), `no imports read from ${folder}/`);
  assert.ok(edges.some((e) => folderOf(e.from) === "pipeline" && folderOf(e.to) === "embed"), "pipeline -> embed edge missing");
});

test("every src/ folder is a known stage, the library, the composition or the command line", () => {
  const folders = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.deepEqual(folders.filter((f) => !FOLDERS.includes(f)), [], "new folder: add it to STAGES (and to docs/ARCHITECTURE.md)");
});

test("stages import neither the pipeline nor the command line; the pipeline does not import the command line", () => {
  const bad = importEdges().filter((e) => {
    const from = folderOf(e.from);
    const to = folderOf(e.to);
    if (STAGES.includes(from) || from === "common") return to === "pipeline" || to === "cli";
    return from === "pipeline" && to === "cli";
  });
  assert.deepEqual(bad.map((e) => `${e.from}:${e.line} -> ${e.to}`), []);
});

test("from outside its folder, a stage is imported only through its index.ts", () => {
  const bad = importEdges().filter((e) => {
    const to = folderOf(e.to);
    return STAGES.includes(to) && folderOf(e.from) !== to && e.to !== `${to}/index.ts`;
  });
  assert.deepEqual(bad.map((e) => `${e.from}:${e.line} -> ${e.to}`), []);
});

test("common/ uses no stage", () => {
  const bad = importEdges().filter((e) => folderOf(e.from) === "common" && folderOf(e.to) !== "common");
  assert.deepEqual(bad.map((e) => `${e.from}:${e.line} -> ${e.to}`), []);
});

test("every stage has an index.ts that opens with a comment on what it takes and gives", () => {
  for (const stage of STAGES) {
    const text = readFileSync(join(SRC, stage, "index.ts"), "utf8");
    assert.match(text, /^\/\*\*?[\s\S]*?\*\//, `${stage}/index.ts has no opening comment`);
  }
});

test("only hub/ talks to the Hub client (our retrying fetch is injected there)", () => {
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".spec.ts"));
  const bad = files.filter((f) => folderOf(f.split(sep).join("/")) !== "hub" && /from\s*["']@huggingface\/hub["']/.test(readFileSync(join(SRC, f), "utf8")));
  assert.deepEqual(bad, []);
});
