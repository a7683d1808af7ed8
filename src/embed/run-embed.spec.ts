import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import type { RgbImage } from "../common/image.ts";
import { parseNpy } from "../common/npy.ts";
import { setLogSink } from "../common/logger.ts";
import type { FaceResult, LocatedFace } from "../faces/index.ts";
import { openImageFolder } from "../source/index.ts";
import { runEmbed, type EmbedEngine, type RunEmbedParams } from "./run-embed.ts";

/**
 * A stand-in engine: "finds a face" unless the image is black, and embeds the mean colour, so
 * results depend on the pixels and on nothing else. Its "crop" is the whole image.
 */
class FakeEngine implements EmbedEngine {
  readonly provider = "fake";
  readonly embeddingDim = 4;
  calls = 0;
  images = 0;
  constructor(private readonly failOnCall?: number) {}
  async locate(image: RgbImage): Promise<LocatedFace> {
    const face = { score: 0.9, box: [1, 2, image.width - 1, image.height - 2] as [number, number, number, number], landmarks: [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]] as [number, number][] };
    return { face, facesFound: 1, crop: image };
  }
  async embed(located: readonly LocatedFace[]): Promise<FaceResult[]> {
    this.calls++;
    if (this.calls === this.failOnCall) throw new Error("engine crashed");
    this.images += located.length;
    return located.map(({ crop: image }) => {
      if (!image) return { status: "no_face", facesFound: 0 };
      const sum = [0, 0, 0];
      for (let i = 0; i < image.data.length; i++) sum[i % 3]! += image.data[i]!;
      const n = image.width * image.height;
      if (sum[0]! + sum[1]! + sum[2]! === 0) return { status: "no_face", facesFound: 0 };
      const v = new Float32Array([sum[0]! / n, sum[1]! / n, sum[2]! / n, image.width]);
      const norm = Math.hypot(...v);
      return {
        status: "ok",
        facesFound: 1,
        face: { score: 0.9, box: [1, 2, image.width - 1, image.height - 2], landmarks: [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]] },
        embedding: v.map((x) => x / norm),
      };
    });
  }
}

async function colour(r: number, g: number, b: number, width = 16): Promise<Buffer> {
  return sharp({ create: { width, height: 12, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

async function imageFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "idc-embed-"));
  const jpeg = await sharp(await colour(200, 10, 10)).jpeg().toBuffer();
  const files: Record<string, Uint8Array | string> = {
    "a.png": await colour(255, 0, 0),
    "b.png": await colour(0, 255, 0),
    "c-black.png": await colour(0, 0, 0),
    "d-empty.jpg": new Uint8Array(0),
    "e-text.png": "this is not an image\n",
    "f-truncated.jpg": jpeg.subarray(0, Math.floor(jpeg.length / 2)),
    "g.png": await colour(0, 0, 255, 20),
    "h.png": await colour(10, 20, 30),
    "i.png": await colour(40, 50, 60),
    "j.png": await colour(255, 0, 0), // same bytes as a.png
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

async function run(dir: string, out: string, engine: EmbedEngine, extra: Partial<RunEmbedParams> = {}) {
  const warnings: string[] = [];
  const restore = setLogSink((line) => warnings.push(line));
  try {
    const summary = await runEmbed({
      source: await openImageFolder({ folder: dir }),
      createEngine: async () => engine,
      cacheRoot: join(out, "cache"),
      fingerprint: { detectorSha256: "d", recognizerSha256: "r", preprocessing: { size: 1 } },
      batchSize: 2,
      noFace: "drop",
      embeddingsPath: join(out, "embeddings.npy"),
      indexPath: join(out, "index.jsonl"),
      decodeWorkers: 1,
      ...extra,
    });
    return { summary, warnings };
  } finally {
    restore();
  }
}

test("every row is reported in order; bad inputs are errors and the run completes", async (t) => {
  const dir = await imageFolder();
  const out = await mkdtemp(join(tmpdir(), "idc-embed-out-"));
  t.after(() => Promise.all([rm(dir, { recursive: true }), rm(out, { recursive: true })]));
  const { summary, warnings } = await run(dir, out, new FakeEngine());
  assert.deepEqual([summary.rows, summary.ok, summary.noFace, summary.errors], [10, 6, 1, 3]);
  const index = (await readFile(join(out, "index.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(
    index.map((r) => [r.row, r.file_name, r.status, r.embedding_row]),
    [
      [0, "a.png", "ok", 0],
      [1, "b.png", "ok", 1],
      [2, "c-black.png", "no_face", null],
      [3, "d-empty.jpg", "error", null],
      [4, "e-text.png", "error", null],
      [5, "f-truncated.jpg", "error", null],
      [6, "g.png", "ok", 2],
      [7, "h.png", "ok", 3],
      [8, "i.png", "ok", 4],
      [9, "j.png", "ok", 5],
    ],
  );
  assert.match(index[3].reason, /empty file/);
  assert.match(index[4].reason, /not an image/);
  assert.match(index[5].reason, /jpeg cannot be decoded/);
  assert.equal(index[2].reason, "no face found");
  for (const name of ["c-black.png", "d-empty.jpg", "e-text.png", "f-truncated.jpg"]) {
    assert.ok(warnings.some((w) => w.startsWith("warning: ") && w.includes(name)), `warning for ${name}`);
  }
  const npy = parseNpy(await readFile(join(out, "embeddings.npy")));
  assert.deepEqual(npy.shape, [6, 4]);
  const rowOf = (i: number) => Array.from(npy.data.slice(i * 4, i * 4 + 4) as Float32Array);
  assert.deepEqual(rowOf(0), rowOf(5), "identical images embed identically");
  assert.ok(rowOf(1)[1]! > 0.9, "b.png is green");
  assert.equal(index[0].image_sha256, index[9].image_sha256);
});

test("policy keep: one .npy row per source row, zeros without an embedding; Parquet index", async (t) => {
  const dir = await imageFolder();
  const out = await mkdtemp(join(tmpdir(), "idc-embed-out-"));
  t.after(() => Promise.all([rm(dir, { recursive: true }), rm(out, { recursive: true })]));
  const indexPath = join(out, "embeddings-index.parquet");
  await run(dir, out, new FakeEngine(), { noFace: "keep", indexPath });
  const npy = parseNpy(await readFile(join(out, "embeddings.npy")));
  assert.deepEqual(npy.shape, [10, 4]);
  assert.deepEqual(Array.from((npy.data as Float32Array).slice(8, 24)), new Array(16).fill(0), "rows 2-5 are zero");
  const table = tableFromIPC(readParquet(await readFile(indexPath)).intoIPCStream());
  assert.deepEqual(table.schema.fields.map((f) => f.name), [
    "row", "file_name", "image_sha256", "status", "reason", "embedding_row", "faces_found", "det_score", "box", "landmarks",
  ]);
  assert.equal(table.numRows, 10);
  assert.equal(table.getChild("status")?.get(4), "error");
  assert.equal(table.getChild("embedding_row")?.get(4), 4n);
  assert.equal(table.getChild("image_sha256")?.get(3), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.deepEqual(Array.from(table.getChild("box")?.get(0) ?? []), [1, 2, 15, 10]);
  assert.equal(table.getChild("landmarks")?.get(0)?.length, 10);
  assert.equal(table.getChild("box")?.get(2), null);
});

test("a run that dies mid-way resumes: only unfinished batches are recomputed, outputs are byte-identical", async (t) => {
  const dir = await imageFolder();
  const clean = await mkdtemp(join(tmpdir(), "idc-embed-clean-"));
  const resumed = await mkdtemp(join(tmpdir(), "idc-embed-resume-"));
  t.after(() => Promise.all([dir, clean, resumed].map((d) => rm(d, { recursive: true }))));
  await run(dir, clean, new FakeEngine());

  // 7 decodable images, batches of 2: the third engine call dies after 2 batches were stored.
  await assert.rejects(run(dir, resumed, new FakeEngine(3)), /engine crashed/);
  const second = new FakeEngine();
  const { summary } = await run(dir, resumed, second);
  // Stored: a, b, c-black, g; j.png has a.png's bytes, so it is a cache hit too.
  assert.equal(summary.cached, 5);
  assert.equal(second.images, 2, "only h and i, after the stored batches, are recomputed");
  for (const file of ["embeddings.npy", "index.jsonl"]) {
    assert.deepEqual(await readFile(join(resumed, file)), await readFile(join(clean, file)), file);
  }

  // A third run needs no engine at all.
  let created = false;
  const third = await runEmbed({
    source: await openImageFolder({ folder: dir }),
    createEngine: async () => {
      created = true;
      return new FakeEngine();
    },
    cacheRoot: join(resumed, "cache"),
    fingerprint: { detectorSha256: "d", recognizerSha256: "r", preprocessing: { size: 1 } },
    batchSize: 2,
    noFace: "drop",
    embeddingsPath: join(resumed, "again.npy"),
    decodeWorkers: 0,
  });
  assert.equal(created, false);
  assert.equal(third.provider, "cache");
  assert.deepEqual(await readFile(join(resumed, "again.npy")), await readFile(join(clean, "embeddings.npy")));
});

test("a different fingerprint (model or parameter) does not reuse cached results", async (t) => {
  const dir = await imageFolder();
  const out = await mkdtemp(join(tmpdir(), "idc-embed-out-"));
  t.after(() => Promise.all([rm(dir, { recursive: true }), rm(out, { recursive: true })]));
  await run(dir, out, new FakeEngine());
  const engine = new FakeEngine();
  const { summary } = await run(dir, out, engine, {
    fingerprint: { detectorSha256: "d", recognizerSha256: "r", preprocessing: { size: 2 } },
  });
  // Only j.png hits: it repeats a.png's bytes, computed earlier in this same run.
  assert.equal(summary.cached, 1);
  assert.equal(engine.images, 6);
});

test("a source with no usable image still writes a well-formed [0, d] .npy", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idc-embed-bad-"));
  const out = await mkdtemp(join(tmpdir(), "idc-embed-out-"));
  t.after(() => Promise.all([rm(dir, { recursive: true }), rm(out, { recursive: true })]));
  await writeFile(join(dir, "a.jpg"), "");
  const { summary } = await run(dir, out, new FakeEngine());
  assert.deepEqual([summary.rows, summary.errors, summary.embeddings], [1, 1, 0]);
  assert.deepEqual(parseNpy(await readFile(join(out, "embeddings.npy"))).shape, [0, 4]);
});

test("decoded pixels in flight stay within the byte budget: batches are cut, one huge image goes alone, outputs are unchanged", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "idc-embed-budget-"));
  const out = await mkdtemp(join(tmpdir(), "idc-embed-out-"));
  t.after(() => Promise.all([rm(dir, { recursive: true }), rm(out, { recursive: true })]));
  // Decoded sizes (width x height x 3): a-d 3,000 B each, e 18,000 B (above the budget), f 300 B,
  // g is not an image (no pixels), h 3,000 B. Budget 10,000 B, batches of 4.
  const sizes: Record<string, [number, number]> = { a: [100, 10], b: [100, 10], c: [100, 10], d: [100, 10], e: [200, 30], f: [10, 10], h: [100, 10] };
  for (const [i, [name, [width, height]]] of Object.entries(sizes).entries()) {
    const png = await sharp({ create: { width, height, channels: 3, background: { r: 10 + i * 30, g: 5, b: 5 } } }).png().toBuffer();
    await writeFile(join(dir, `${name}.png`), png);
  }
  await writeFile(join(dir, "g.png"), "not an image\n");

  class RecordingEngine extends FakeEngine {
    batches: string[][] = [];
    override async embed(located: readonly LocatedFace[]): Promise<FaceResult[]> {
      const names = Object.keys(sizes);
      this.batches.push(located.map(({ crop }) => names[(crop!.data[0]! - 10) / 30]!));
      return super.embed(located);
    }
  }
  const budgeted = new RecordingEngine();
  const { summary } = await run(dir, join(out, "budget"), budgeted, { batchSize: 4, decodeBudgetBytes: 10_000 });
  // Batches hold crops, not images: the budget never cuts them.
  assert.deepEqual(budgeted.batches, [["a", "b", "c", "d"], ["e", "f", "h"]]);
  assert.equal(summary.peakDecodedBytes, 18_000, "the lone huge image is the peak; otherwise at most the budget");
  assert.deepEqual([summary.rows, summary.ok, summary.errors], [8, 7, 1]);

  const unbounded = new RecordingEngine();
  const plain = await run(dir, join(out, "plain"), unbounded, { batchSize: 4, decodeBudgetBytes: 2 ** 30 });
  assert.deepEqual(unbounded.batches, [["a", "b", "c", "d"], ["e", "f", "h"]]);
  assert.equal(plain.summary.peakDecodedBytes, 4 * 3000 + 18_000 + 300 + 3000, "everything in flight at once");
  for (const file of ["embeddings.npy", "index.jsonl"]) {
    assert.deepEqual(await readFile(join(out, "budget", file)), await readFile(join(out, "plain", file)), file);
  }
});
