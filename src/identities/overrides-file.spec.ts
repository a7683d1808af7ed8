import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createHash } from "node:crypto";
import { UsageError } from "../common/errors.ts";
import { emptyOverrides, parseOverrides, readOverrides, serializeOverrides, writeOverrides, type OverridesFile } from "./overrides-file.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const FILE = "review/decisions.yaml";

const VALID = `version: 1
decisions:
  - id: d1
    action: merge
    images: [${A}, ${B}]
    files: [amy/1.jpg, amy/2.jpg]
    who: ada
    when: 2026-12-02T17:49:00.000Z
    why: same person
  - id: d2
    action: split
    images:
      - ${C}
    into: ${A}
    who: bob
    when: "2026-12-03T08:00:00Z"
  - id: d3
    action: exclude
    images: [${B}]
    who: ada
    when: 2026-12-03
    why: a drawing, not a photo
  - id: d4
    action: check
    images: [${A}, ${B}, ${C}]
    who: ada
    when: 2026-12-04T00:00:00Z
`;

test("a valid file parses into its decisions, in file order", () => {
  const parsed = parseOverrides(VALID, FILE);
  assert.equal(parsed.version, 1);
  assert.deepEqual(
    parsed.decisions.map((d) => [d.id, d.action, d.images.length, d.into ?? null, d.who]),
    [
      ["d1", "merge", 2, null, "ada"],
      ["d2", "split", 1, A, "bob"],
      ["d3", "exclude", 1, null, "ada"],
      ["d4", "check", 3, null, "ada"],
    ],
  );
  assert.deepEqual(parsed.decisions[0]!.files, ["amy/1.jpg", "amy/2.jpg"]);
  assert.equal(parsed.decisions[0]!.why, "same person");
  assert.equal(parsed.decisions[2]!.when, "2026-12-03");
});

test("an empty file, or one without decisions, has none", () => {
  assert.deepEqual(parseOverrides("", FILE), emptyOverrides());
  assert.deepEqual(parseOverrides("# nothing yet\n", FILE), emptyOverrides());
  assert.deepEqual(parseOverrides("version: 1\n", FILE), emptyOverrides());
  assert.deepEqual(parseOverrides("version: 1\ndecisions:\n", FILE), emptyOverrides());
  assert.deepEqual(parseOverrides("version: 1\ndecisions: []\n", FILE), emptyOverrides());
});

test("serialize then parse gives the same decisions; write is atomic and read gives the file's SHA-256", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-overrides-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const parsed = parseOverrides(VALID, FILE);
  assert.deepEqual(parseOverrides(serializeOverrides(parsed), FILE), parsed);
  const path = join(dir, "decisions.yaml");
  await writeOverrides(path, parsed);
  const read = await readOverrides(path);
  const bytes = await readFile(path);
  assert.equal(read.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.deepEqual({ version: read.version, decisions: read.decisions }, parsed);
  assert.equal(serializeOverrides(parsed), bytes.toString("utf8"), "the same decisions always give the same bytes");
  // An id that YAML would read as something else round-trips as text.
  const tricky: OverridesFile = { version: 1, decisions: [{ id: "123", action: "exclude", images: [A], who: "yes", when: "2026-01-01", why: "null" }] };
  assert.deepEqual(parseOverrides(serializeOverrides(tricky), FILE), tricky);
});

test("a missing file is an error naming the config key, unless the caller starts an empty one", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idclusters-overrides-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "none.yaml");
  await assert.rejects(readOverrides(path, { key: "c.yaml: clustering.overrides" }), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /^c\.yaml: clustering\.overrides: cannot read the overrides file .*none\.yaml \(ENOENT\)/);
    return true;
  });
  assert.deepEqual(await readOverrides(path, { missingIsEmpty: true }), { ...emptyOverrides(), sha256: null });
});

/** Every malformed file is a usage error naming the file, the line and (for a decision) its key. */
const BAD: [string, string, RegExp][] = [
  ["not YAML", "version: 1\ndecisions: [\n", /^review\/decisions\.yaml:\d+: not valid YAML/],
  ["a list at the top", "- 1\n", /^review\/decisions\.yaml:1: an overrides file is a mapping/],
  ["an unknown top-level key", "version: 1\ndecisons: []\n", /^review\/decisions\.yaml:2: unknown key "decisons"/],
  ["no version", "decisions: []\n", /^review\/decisions\.yaml:1: version: expected 1, got null/],
  ["another version", "version: 2\n", /^review\/decisions\.yaml:1: version: expected 1, got 2/],
  ["decisions not a list", "version: 1\ndecisions:\n  id: d1\n", /^review\/decisions\.yaml:3: decisions: expected a list/],
  ["a decision that is not a mapping", "version: 1\ndecisions:\n  - just text\n", /^review\/decisions\.yaml:3: decisions\[0\]: expected a mapping/],
  ["an unknown key", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n    wy: typo\n`, /^review\/decisions\.yaml:8: decisions\[0\]\.wy: unknown key "wy"/],
  ["no id", `version: 1\ndecisions:\n  - action: check\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:3: decisions\[0\]: "id" is missing/],
  ["an id that is not text", `version: 1\ndecisions:\n  - id: [1]\n    action: check\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:3: decisions\[0\]\.id: expected text/],
  [
    "an id used twice",
    `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n  - id: d1\n    action: check\n    images: [${B}]\n    who: a\n    when: 2026-01-01\n`,
    /^review\/decisions\.yaml:8: decisions\[1\]\.id: id "d1" is also decisions\[0\]'s/,
  ],
  ["an unknown action", `version: 1\ndecisions:\n  - id: d1\n    action: rename\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:4: decisions\[0\]\.action: "rename" is not one of merge, split, exclude, check/],
  ["no images", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: []\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:5: decisions\[0\]\.images: expected a non-empty list/],
  [
    "an image that is not a SHA-256, on its own line",
    `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images:\n      - ${A}\n      - ${B.toUpperCase()}\n    who: a\n    when: 2026-01-01\n`,
    /^review\/decisions\.yaml:7: decisions\[0\]\.images\[1\]: "B{64}" is not a SHA-256/,
  ],
  [
    "an image listed twice",
    `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images:\n      - ${A}\n      - ${B}\n      - ${A}\n    who: a\n    when: 2026-01-01\n`,
    /^review\/decisions\.yaml:8: decisions\[0\]\.images\[2\]: lists image aaaaaaaaaaaa twice/,
  ],
  ["a merge of one image", `version: 1\ndecisions:\n  - id: d1\n    action: merge\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:5: decisions\[0\]\.images: a merge names at least two images/],
  ["into on a merge", `version: 1\ndecisions:\n  - id: d1\n    action: merge\n    images: [${A}, ${B}]\n    into: ${C}\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:6: decisions\[0\]\.into: only a split has "into"/],
  ["into that is not a SHA-256", `version: 1\ndecisions:\n  - id: d1\n    action: split\n    images: [${A}]\n    into: amy.jpg\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:6: decisions\[0\]\.into: "amy\.jpg" is not a SHA-256/],
  ["files that are not a list", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    files: amy.jpg\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:6: decisions\[0\]\.files: expected a list of file names/],
  ["no who", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:3: decisions\[0\]: "who" is missing/],
  ["an empty who", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    who: " "\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:6: decisions\[0\]\.who: must not be empty/],
  ["a when that is no time", `version: 1\ndecisions:\n  - id: d1\n    action: check\n    images: [${A}]\n    who: a\n    when: yesterday\n`, /^review\/decisions\.yaml:7: decisions\[0\]\.when: "yesterday" is not an ISO 8601 time/],
  ["an exclusion without why", `version: 1\ndecisions:\n  - id: d1\n    action: exclude\n    images: [${A}]\n    who: a\n    when: 2026-01-01\n`, /^review\/decisions\.yaml:3: decisions\[0\]: an exclude says why/],
];

for (const [what, text, message] of BAD) {
  test(`malformed: ${what} is a usage error naming file:line`, () => {
    assert.throws(
      () => parseOverrides(text, FILE),
      (error: Error) => {
        assert.ok(error instanceof UsageError, `${what}: ${error}`);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}
