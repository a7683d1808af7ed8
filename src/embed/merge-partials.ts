/**
 * `idclusters merge`: combines the partials of `embed --shard i/n` (see `embed-shard.ts`) into the
 * files a single-machine `embed` writes, byte for byte: the partials' rows are read back exactly
 * (float32 embeddings from the .npy, float64 scores/boxes/landmarks from the Parquet index),
 * concatenated in source order and written by the same `writeEmbedOutputs`, which renumbers
 * `embedding_row` over the whole source.
 *
 * It refuses, with a UsageError naming the partial and the key, partials that are not slices of the
 * same computation (source, row count, model/preprocessing fingerprint, no-face policy, decode
 * limit, shard count), an incomplete or repeated set of shards, and files that do not match their
 * manifest. Optionally it also stores every result in the work dir's embed cache, so a later
 * `embed --config` or `run` on that work dir finds every image done and recomputes nothing.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { tableFromIPC, type Table } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { UsageError } from "../common/errors.ts";
import { log } from "../common/logger.ts";
import { parseNpy } from "../common/npy.ts";
import { EmbedCache, type EmbedRecord } from "./embed-cache.ts";
import { writeEmbedOutputs, type EmbedRow, type EmbedStatus } from "./embed-outputs.ts";
import {
  PARTIAL_EMBEDDINGS,
  PARTIAL_FORMAT,
  PARTIAL_INDEX,
  PARTIAL_MANIFEST,
  sha256OfPath,
  shardRange,
  type PartialIdentity,
  type PartialManifest,
} from "./embed-shard.ts";

export interface MergeEmbedPartialsParams {
  /** Partial folders (each holding `partial.json`), in any order. */
  partialDirs: string[];
  /** What the partials must be slices of (from the config); checked when given. */
  expected?: Omit<PartialIdentity, "fingerprintParams">;
  /** Output `.npy` path. */
  embeddingsPath: string;
  /** Output index path (`.parquet`, or `.jsonl` for JSON lines). */
  indexPath?: string;
  /** Embed cache root (`<work dir>/cache/embed`) to fill with the partials' results. */
  cacheRoot?: string;
}

export interface MergeSummary {
  partials: number;
  rows: number;
  embeddings: number;
  embeddingDim: number;
  /** Results newly stored in the embed cache. */
  cachedNow: number;
  embeddingsPath: string;
  indexPath?: string;
}

/** The partial folders under `<work dir>/partials` (embed-<i>-of-<n>), or a UsageError saying why none fit. */
export async function findPartialDirs(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const partials = names.filter((n) => /^embed-\d+-of-\d+$/.test(n)).sort();
  if (partials.length === 0) throw new UsageError(`no partials (embed-<i>-of-<n>) under ${root}; run embed --shard i/n first`);
  const counts = new Set(partials.map((n) => n.split("-of-")[1]));
  if (counts.size > 1) {
    throw new UsageError(`${root} holds partials of different shard counts (${[...counts].join(", ")}); pass the ones to merge with --partials`);
  }
  return partials.map((n) => join(root, n));
}

/** Expands each argument: a partial folder as is, or a folder holding embed-<i>-of-<n> partials. */
export async function expandPartialArgs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (!(await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`--partials: ${path} is not a folder`);
    // A partial's folder (even one whose manifest is missing: readManifest says why) or a parent of partials.
    if (/^embed-\d+-of-\d+$/.test(basename(path)) || (await stat(join(path, PARTIAL_MANIFEST)).catch(() => undefined))) out.push(path);
    else out.push(...(await findPartialDirs(path)));
  }
  return out;
}

async function readManifest(dir: string): Promise<PartialManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, PARTIAL_MANIFEST), "utf8");
  } catch {
    throw new UsageError(`${dir}: no ${PARTIAL_MANIFEST}; the shard did not finish (rerun its embed --shard) or this is not a partial`);
  }
  const manifest = JSON.parse(text) as PartialManifest;
  if (manifest.format !== PARTIAL_FORMAT) throw new UsageError(`${join(dir, PARTIAL_MANIFEST)}: format ${JSON.stringify(manifest.format)}, expected ${PARTIAL_FORMAT}`);
  for (const [key, file] of [["embeddings", PARTIAL_EMBEDDINGS], ["index", PARTIAL_INDEX]] as const) {
    const actual = await sha256OfPath(join(dir, file)).catch(() => "missing");
    if (actual !== manifest.files[key]) throw new UsageError(`${join(dir, file)} is not the file ${PARTIAL_MANIFEST} describes (${actual === "missing" ? "missing" : "SHA-256 differs"})`);
  }
  return manifest;
}

/** Keys that must be equal in every partial (and in the config's expectation). */
const IDENTITY_KEYS = ["source", "totalRows", "fingerprint", "noFace", "maxPixels"] as const;

function checkSet(partials: { dir: string; manifest: PartialManifest }[], expected: MergeEmbedPartialsParams["expected"]): void {
  const first = partials[0]!;
  for (const other of partials) {
    for (const key of [...IDENTITY_KEYS, "embeddingDim"] as const) {
      if (other.manifest[key] !== first.manifest[key]) {
        throw new UsageError(
          `partials do not belong together: ${key} is ${JSON.stringify(first.manifest[key])} in ${first.dir} but ${JSON.stringify(other.manifest[key])} in ${other.dir}`,
        );
      }
    }
    if (other.manifest.shard.count !== first.manifest.shard.count) {
      throw new UsageError(`partials do not belong together: ${first.dir} is one of ${first.manifest.shard.count} shards, ${other.dir} one of ${other.manifest.shard.count}`);
    }
  }
  if (expected) {
    for (const key of IDENTITY_KEYS) {
      if (expected[key] !== first.manifest[key]) {
        const hint = key === "fingerprint" ? " (models or preprocessing differ)" : "";
        throw new UsageError(`${first.dir} was not made from this config: ${key} is ${JSON.stringify(first.manifest[key])}, the config gives ${JSON.stringify(expected[key])}${hint}`);
      }
    }
  }
  const count = first.manifest.shard.count;
  const seen = new Map<number, string>();
  for (const { dir, manifest } of partials) {
    const previous = seen.get(manifest.shard.index);
    if (previous !== undefined) throw new UsageError(`shard ${manifest.shard.index}/${count} given twice: ${previous} and ${dir}`);
    seen.set(manifest.shard.index, dir);
    const range = shardRange(manifest.shard, manifest.totalRows);
    if (manifest.rows.start !== range.start || manifest.rows.end !== range.end) {
      throw new UsageError(`${dir}: rows ${manifest.rows.start}..${manifest.rows.end} are not shard ${manifest.shard.index}/${count}'s ${range.start}..${range.end}`);
    }
  }
  const missing = [...Array(count).keys()].filter((i) => !seen.has(i));
  if (missing.length > 0) throw new UsageError(`missing shard(s) ${missing.map((i) => `${i}/${count}`).join(", ")}: merge needs all ${count}`);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function listOrNull(value: unknown): number[] | null {
  if (value === null || value === undefined) return null;
  return Array.from((value as { toArray(): ArrayLike<number> }).toArray());
}

/** The partial's rows exactly as `runEmbed` had them (global row numbers, embeddings from the .npy). */
async function readPartialRows(dir: string, manifest: PartialManifest): Promise<EmbedRow[]> {
  const npy = parseNpy(await readFile(join(dir, PARTIAL_EMBEDDINGS)), join(dir, PARTIAL_EMBEDDINGS));
  const dim = manifest.embeddingDim;
  if (npy.dtype !== "float32" || npy.shape.length !== 2 || npy.shape[0] !== manifest.embeddings || npy.shape[1] !== dim) {
    throw new UsageError(`${join(dir, PARTIAL_EMBEDDINGS)}: ${npy.dtype} (${npy.shape.join(", ")}), expected float32 (${manifest.embeddings}, ${dim})`);
  }
  const data = npy.data as Float32Array;
  const table: Table = tableFromIPC(readParquet(await readFile(join(dir, PARTIAL_INDEX))).intoIPCStream());
  const column = (name: string) => {
    const child = table.getChild(name);
    if (!child) throw new UsageError(`${join(dir, PARTIAL_INDEX)} has no column ${name}`);
    return child;
  };
  const [row, fileName, sha, status, reason, embeddingRow, facesFound, score, box, landmarks] = [
    "row", "file_name", "image_sha256", "status", "reason", "embedding_row", "faces_found", "det_score", "box", "landmarks",
  ].map(column);
  const rows: EmbedRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const expectedRow = manifest.rows.start + i;
    if (Number(row!.get(i)) !== expectedRow) throw new UsageError(`${join(dir, PARTIAL_INDEX)}: entry ${i} is row ${row!.get(i)}, expected ${expectedRow}`);
    const st = status!.get(i) as EmbedStatus;
    const position = numberOrNull(embeddingRow!.get(i));
    const flat = listOrNull(landmarks!.get(i));
    const boxValues = listOrNull(box!.get(i));
    rows.push({
      row: expectedRow,
      fileName: fileName!.get(i) as string,
      imageSha256: (sha!.get(i) as string | null) ?? null,
      status: st,
      reason: (reason!.get(i) as string | null) ?? null,
      facesFound: Number(facesFound!.get(i)),
      score: numberOrNull(score!.get(i)),
      box: boxValues ? (boxValues as [number, number, number, number]) : null,
      landmarks: flat ? Array.from({ length: flat.length / 2 }, (_, k) => [flat[2 * k]!, flat[2 * k + 1]!] as [number, number]) : null,
      embedding: st === "ok" && position !== null ? data.slice(position * dim, (position + 1) * dim) : null,
    });
  }
  if (rows.length !== manifest.rows.end - manifest.rows.start) {
    throw new UsageError(`${join(dir, PARTIAL_INDEX)}: ${rows.length} entries, expected ${manifest.rows.end - manifest.rows.start}`);
  }
  return rows;
}

async function feedCache(root: string, manifest: PartialManifest, rows: EmbedRow[]): Promise<number> {
  const cache = await EmbedCache.open({ root, fingerprint: manifest.fingerprintParams });
  if (cache.fingerprint !== manifest.fingerprint) throw new UsageError(`partial fingerprint ${manifest.fingerprint} does not match its own parameters`);
  const fresh: { imageSha256: string; record: EmbedRecord }[] = [];
  const queued = new Set<string>();
  for (const r of rows) {
    // Decode errors are not cached (they are cheap to redo), as in runEmbed.
    if (r.imageSha256 === null || r.status === "error" || cache.get(r.imageSha256) || queued.has(r.imageSha256)) continue;
    queued.add(r.imageSha256);
    fresh.push({
      imageSha256: r.imageSha256,
      record: { status: r.status, facesFound: r.facesFound, score: r.score, box: r.box, landmarks: r.landmarks, embedding: r.embedding },
    });
  }
  for (let i = 0; i < fresh.length; i += 1024) await cache.putBatch(fresh.slice(i, i + 1024));
  return fresh.length;
}

export async function mergeEmbedPartials(params: MergeEmbedPartialsParams): Promise<MergeSummary> {
  if (params.partialDirs.length === 0) throw new UsageError("merge: no partials given");
  const partials = await Promise.all(params.partialDirs.map(async (dir) => ({ dir, manifest: await readManifest(dir) })));
  checkSet(partials, params.expected);
  partials.sort((a, b) => a.manifest.shard.index - b.manifest.shard.index);
  const first = partials[0]!.manifest;

  const rows: EmbedRow[] = [];
  let cachedNow = 0;
  for (const { dir, manifest } of partials) {
    const partialRows = await readPartialRows(dir, manifest);
    if (params.cacheRoot) cachedNow += await feedCache(params.cacheRoot, manifest, partialRows);
    for (const r of partialRows) rows.push(r);
  }
  await writeEmbedOutputs({ rows, dim: first.embeddingDim, noFace: first.noFace, embeddingsPath: params.embeddingsPath, indexPath: params.indexPath });
  const embeddings = partials.reduce((sum, p) => sum + p.manifest.embeddings, 0);
  log.info(`merge: ${partials.length} partials, ${rows.length} rows, ${embeddings} x ${first.embeddingDim} embeddings -> ${params.embeddingsPath}`);
  if (params.cacheRoot) log.info(`merge: ${cachedNow} results added to the embed cache ${params.cacheRoot}`);
  return {
    partials: partials.length,
    rows: rows.length,
    embeddings,
    embeddingDim: first.embeddingDim,
    cachedNow,
    embeddingsPath: params.embeddingsPath,
    indexPath: params.indexPath,
  };
}
