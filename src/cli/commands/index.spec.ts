import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { commandCatalog, commandName, commandsFor, requestedCommand } from "./index.ts";

test("the requested command is the first word that is not an option or a global option's value", () => {
  assert.equal(requestedCommand(["embed", "--config", "x.yaml"]), "embed");
  assert.equal(requestedCommand(["--work-dir", "/w", "--json", "cluster"]), "cluster");
  assert.equal(requestedCommand(["--help"]), undefined);
});

test("every catalog entry has options and a handler module without options, and only the requested one is loaded", async () => {
  for (const entry of commandCatalog) {
    assert.equal(typeof (await entry.options()), "function", `${entry.command}: options are a yargs builder`);
    const module = await entry.load();
    assert.equal(typeof module.handler, "function", entry.command);
    // Options in the handler's module would be parsed only after its heavy imports loaded.
    assert.equal(module.builder, undefined, `${entry.command}: options belong in src/cli/options/${commandName(entry)}.ts`);
    assert.equal(module.describe, undefined, `${entry.command}: its description belongs in commandCatalog`);
  }
  let ran: string | undefined;
  const commands = await commandsFor(["verify", "some/repo@v1"], async (entry) => {
    ran = entry.command;
  });
  const verify = commands.find((c) => c.command === "verify <release>")!;
  const run = commands.find((c) => c.command === "run")!;
  assert.ok(verify.builder, "the requested command has its options");
  assert.equal(run.builder, undefined, "the others stay stubs");
  await verify.handler({ _: ["verify"], $0: "idclusters", release: "some/repo@v1" });
  assert.equal(ran, "verify <release>", "the requested command's handler goes through the runner");
});

/** Files and packages a module loads statically (`import type` and dynamic `import()` load nothing up front). */
function staticClosure(entry: string): { files: string[]; packages: Map<string, string> } {
  const files: string[] = [];
  const packages = new Map<string, string>(); // package -> the file importing it
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm)) {
      const specifier = match[1]!;
      if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:")) packages.set(specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"), file);
    }
  }
  return { files, packages };
}

test("parsing a command line loads no heavy library: main, the catalog and every command's options import only yargs", () => {
  // A typo must fail in a fraction of a second, before transformers.js, onnxruntime, sharp, DuckDB or the Hub client load.
  const cli = fileURLToPath(new URL("../", import.meta.url));
  const entries = [join(cli, "main.ts"), ...commandCatalog.map((entry) => join(cli, "options", `${commandName(entry)}.ts`))];
  for (const entry of entries) {
    const { packages } = staticClosure(entry);
    for (const [name, importer] of packages) {
      assert.equal(name, "yargs", `${entry} loads ${name} (imported by ${importer}); import it inside the handler instead`);
    }
  }
});

test("the closure scan sees static imports and skips type-only and dynamic ones", () => {
  const { packages, files } = staticClosure(fileURLToPath(new URL("../../hub/push-folder.ts", import.meta.url)));
  assert.ok(packages.has("@huggingface/hub"), "push-folder imports the Hub client");
  assert.ok(packages.has("picomatch"));
  assert.ok(files.some((f) => f.endsWith("repo-designation.ts")));
  const run = staticClosure(fileURLToPath(new URL("./run.ts", import.meta.url)));
  assert.ok(!run.files.some((f) => f.endsWith("run-pipeline.ts")), "run.ts imports the pipeline dynamically");
});
