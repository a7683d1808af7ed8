import { test } from "node:test";
import assert from "node:assert/strict";
import { closestName, usageMessage, type UsageContext } from "./usage-messages.ts";

const run: UsageContext = {
  argv: ["run", "--config", "c.yaml", "--push", "--dryrun", "--no-crad", "-x", "extra"],
  options: ["help", "version", "hub-url", "token", "json", "config", "push", "dry-run", "card", "min-samples"],
  booleans: ["help", "version", "json", "push", "dry-run", "card"],
  commands: ["run", "config", "pull", "push", "verify"],
  positionals: [],
  command: "run",
};

test("unknown options are named as typed, with the option meant", () => {
  assert.equal(usageMessage("Unknown argument: dryrun", run), "unknown option --dryrun (did you mean --dry-run?)");
  assert.equal(usageMessage("Unknown argument: crad", run), "unknown option --no-crad (did you mean --no-card?)");
  assert.equal(usageMessage("Unknown argument: x", run), "unknown option -x");
  assert.equal(usageMessage("Unknown argument: extra", run), 'unexpected argument "extra"');
  assert.equal(
    usageMessage("Unknown arguments: dryrun, crad", run),
    "unknown option --dryrun (did you mean --dry-run?); unknown option --no-crad (did you mean --no-card?)",
  );
});

test("yargs' camelCase twin of an unknown kebab-case option is reported once", () => {
  const context = { ...run, argv: ["run", "--min-sample", "2"] };
  assert.equal(usageMessage("Unknown arguments: min-sample, minSample", context), "unknown option --min-sample (did you mean --min-samples?)");
});

test("an unknown command is named, with the command meant", () => {
  const frob = { ...run, argv: ["frobnicate"], command: "frobnicate" };
  assert.equal(usageMessage("Unknown argument: frobnicate", frob), 'unknown command "frobnicate"');
  const ru = { ...run, argv: ["ru", "--config", "x"], command: "ru" };
  assert.equal(usageMessage("Did you mean run?", ru), 'unknown command "ru" (did you mean run?)');
  assert.equal(usageMessage("Unknown argument: pul", { ...run, argv: ["pul"], command: "pul" }), 'unknown command "pul" (did you mean pull?)');
});

test("missing options and arguments, choices and conflicts name the flags", () => {
  assert.equal(usageMessage("Missing required argument: config", run), "missing required option --config");
  assert.equal(usageMessage("Missing required arguments: repo, folder", run), "missing required options --repo, --folder");
  const verify = { ...run, argv: ["verify"], positionals: ["release"], command: "verify" };
  assert.equal(usageMessage("Not enough non-option arguments: got 0, need at least 1", verify), "missing argument <release> (see idclusters verify --help)");
  assert.equal(
    usageMessage('Invalid values:\n  Argument: noise, Given: "maybe", Choices: "singleton", "keep", "drop"', run),
    '--noise: "maybe" is not one of "singleton", "keep", "drop"',
  );
  assert.equal(usageMessage('Invalid values:\n  Argument: noise, Given: true, Choices: "keep", "drop"', run), '--noise needs a value: "keep" | "drop"');
  assert.equal(usageMessage("Arguments config and repo are mutually exclusive", run), "--config and --repo exclude each other");
  assert.equal(usageMessage("something yargs says that we do not know", run), "something yargs says that we do not know");
});

test("suggestions: one edit for short words, two for longer ones, swaps count once, unrelated words get none", () => {
  const options = ["dry-run", "private", "revision", "shard", "clusters", "card", "config"];
  assert.equal(closestName("dryrun", options), "dry-run");
  assert.equal(closestName("privat", options), "private");
  assert.equal(closestName("revsion", options), "revision");
  assert.equal(closestName("shrad", options), "shard");
  assert.equal(closestName("crad", options), "card");
  assert.equal(closestName("cluster", options), "clusters");
  assert.equal(closestName("priv", options), "private", "a prefix of an option");
  assert.equal(closestName("frobnicate", options), undefined);
  assert.equal(closestName("xyz", options), undefined);
});
