import { test } from "node:test";
import assert from "node:assert/strict";
import { commandCatalog, commandsFor, requestedCommand } from "./index.ts";

test("the requested command is the first word that is not an option or a global option's value", () => {
  assert.equal(requestedCommand(["embed", "--config", "x.yaml"]), "embed");
  assert.equal(requestedCommand(["--work-dir", "/w", "--json", "cluster"]), "cluster");
  assert.equal(requestedCommand(["--help"]), undefined);
});

test("every catalog entry loads a module with a handler and options, and only the requested one is loaded", async () => {
  for (const entry of commandCatalog) {
    const module = await entry.load();
    assert.equal(typeof module.handler, "function", entry.command);
    assert.ok(module.builder, `${entry.command} has no options builder`);
    assert.equal(module.describe, undefined, `${entry.command}: its description belongs in commandCatalog`);
  }
  const commands = await commandsFor(["verify", "some/repo@v1"]);
  const verify = commands.find((c) => c.command === "verify <release>")!;
  const run = commands.find((c) => c.command === "run")!;
  assert.ok(verify.builder, "the requested command is loaded in full");
  assert.equal(run.builder, undefined, "the others stay stubs");
});
