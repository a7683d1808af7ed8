import { test } from "node:test";
import assert from "node:assert/strict";
import { RuntimeError } from "../common/errors.ts";
import { assertSafeRepoPath, unsafeRepoPathReason } from "./safe-repo-path.ts";

test("ordinary repo paths are accepted", () => {
  for (const path of ["README.md", ".gitattributes", "data/train-00000-of-00002.parquet", "a b/c..d/e.txt"]) {
    assert.equal(unsafeRepoPathReason(path), undefined, path);
  }
});

test("paths that could leave the snapshot are refused with the path named", () => {
  const cases: [string, RegExp][] = [
    ["../x", /\.\./],
    ["data/../../x", /\.\./],
    ["/etc/passwd", /absolute/],
    ["C:/x", /drive/],
    ["data\\x", /backslash/],
    ["data//x", /empty segment/],
    ["data/", /empty segment/],
    ["./x", /"\." segment/],
    ["", /empty/],
  ];
  for (const [path, reason] of cases) {
    assert.match(unsafeRepoPathReason(path) ?? "", reason, path);
    assert.throws(
      () => assertSafeRepoPath(path, "ns/repo@main"),
      (error: unknown) => error instanceof RuntimeError && error.message.includes(JSON.stringify(path)),
    );
  }
});
