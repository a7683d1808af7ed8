import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listImageFolder, openImageFolder, parseCsv } from "./image-folder.ts";
import { setLogSink } from "../common/logger.ts";

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "idc-folder-"));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(root, name, ".."), { recursive: true });
    await writeFile(join(root, name), content);
  }
  return root;
}

test("without metadata: image files recursively, hidden skipped, sorted by path", async (t) => {
  const root = await tree({
    "b/2.png": "x",
    "b/10.png": "x",
    "a.JPG": "x",
    "a/z.webp": "x",
    ".cache/x.png": "x",
    "__MACOSX/y.png": "x",
    "notes.txt": "x",
    "B.jpeg": "x",
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const entries = await listImageFolder({ folder: root });
  assert.deepEqual(
    entries.map((e) => e.fileName),
    ["B.jpeg", "a.JPG", "a/z.webp", "b/10.png", "b/2.png"],
  );
  const source = await openImageFolder({ folder: root });
  assert.equal(source.total, 5);
  const rows = [];
  for await (const image of source.images()) rows.push(image);
  assert.deepEqual(
    rows.map((r) => [r.row, r.fileName, new TextDecoder().decode(r.bytes)]),
    entries.map((e, i) => [i, e.fileName, "x"]),
  );
});

test("metadata.csv and metadata.jsonl give the row order and pass extra columns through", async (t) => {
  const root = await tree({
    "train/metadata.csv": 'file_name,caption,person\nb.png,"a ""quoted"", caption",2\na.png,plain,1\nmissing.png,gone,3\n',
    "train/a.png": "A",
    "train/b.png": "B",
    "train/stray.png": "S",
    "extra/metadata.jsonl": '{"file_name": "sub/c.png", "person": 7}\n',
    "extra/sub/c.png": "C",
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const warnings: string[] = [];
  const restore = setLogSink((line) => warnings.push(line));
  const entries = await listImageFolder({ folder: root }).finally(restore);
  assert.deepEqual(
    entries.map((e) => [e.fileName, e.extra, e.problem]),
    [
      ["extra/sub/c.png", { person: 7 }, undefined],
      ["train/b.png", { caption: 'a "quoted", caption', person: "2" }, undefined],
      ["train/a.png", { caption: "plain", person: "1" }, undefined],
      ["train/missing.png", { caption: "gone", person: "3" }, "listed in train/metadata.csv but not found in the folder"],
    ],
  );
  assert.ok(warnings.some((w) => w.includes("1 image(s)") && w.includes("train/stray.png")), warnings.join("\n"));
  const rows = [];
  for await (const image of (await openImageFolder({ folder: root })).images()) rows.push(image);
  assert.equal(rows[3]?.bytes, undefined);
  assert.match(rows[3]?.problem ?? "", /not found/);
});

test("a missing folder is a usage error", async () => {
  await assert.rejects(listImageFolder({ folder: "/nonexistent/idc" }), { name: "UsageError" });
});

test("parseCsv handles quotes, CRLF and embedded newlines", () => {
  assert.deepEqual(parseCsv('a,b\r\n"x\ny",2\r\n""""\n'), [["a", "b"], ["x\ny", "2"], ['"']]);
});
