/**
 * Sharded embedding (`idclusters embed --shard i/n`): shard i of n embeds a deterministic contiguous
 * slice of the source rows, [floor(i*N/n), floor((i+1)*N/n)), and writes a *partial*: the same two
 * files a whole run writes (`embeddings.npy` + `embeddings-index.parquet`, the index carrying the
 * GLOBAL row numbers) plus `partial.json`, written last, which says what the partial is a slice of.
 * `merge-partials.ts` checks those manifests against each other (and against the config) before it
 * concatenates the slices in source order into exactly the files of a single-machine run.
 *
 * Contiguous slices (not row i mod n) keep the merge a concatenation and each shard's reads
 * sequential in the source's Parquet row groups.
 */
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { ImageSource } from "../source/index.ts";
import { embedFingerprint, type EmbedFingerprintParams } from "./embed-cache.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";
import type { EmbedPlan } from "./embed-plan.ts";

export const PARTIAL_FORMAT = "idclusters-embed-partial/1";
export const PARTIAL_MANIFEST = "partial.json";
export const PARTIAL_EMBEDDINGS = "embeddings.npy";
export const PARTIAL_INDEX = "embeddings-index.parquet";

export interface ShardSpec {
  /** 0-based shard index. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** Parses `i/n` (0 <= i < n); the UsageError names the flag. */
export function parseShardSpec(text: string, flag = "--shard"): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new UsageError(`${flag} must be i/n with 0 <= i < n (e.g. 0/4), got "${text}"`);
  }
  return { index, count };
}

/** Rows [start, end) of shard `index` of `count` over `total` rows. */
export function shardRange(spec: ShardSpec, total: number): { start: number; end: number } {
  return { start: Math.floor((spec.index * total) / spec.count), end: Math.floor(((spec.index + 1) * total) / spec.count) };
}

/** The rows [start, end) of a source, keeping their global row numbers. */
export function sliceSource(source: ImageSource, start: number, end: number): ImageSource {
  return {
    total: end - start,
    description: `${source.description}, rows ${start}..${end - 1}`,
    async *images() {
      if (start >= end) return;
      for await (const image of source.images()) {
        if (image.row >= end) break; // ends the source's iterator: rows past the slice are never read
        if (image.row >= start) yield image;
      }
    },
  };
}

/** `<work dir>/partials/embed-<i>-of-<n>`. */
export function partialDir(workDir: string, spec: ShardSpec): string {
  return join(workDir, "partials", `embed-${spec.index}-of-${spec.count}`);
}

/** What a partial is a slice of: partials merge only when all of this agrees. */
export interface PartialIdentity {
  /** Where the rows come from (Hub repo@revision or local path, and split). */
  source: string;
  /** Rows of the whole source. */
  totalRows: number;
  /** `embedFingerprint` of the models and preprocessing (same as the embed cache's key). */
  fingerprint: string;
  /** The fingerprint's inputs, so `merge` can feed the work dir's embed cache. */
  fingerprintParams: EmbedFingerprintParams;
  noFace: "drop" | "keep";
  /** Decode limit: it decides which rows become errors, so it must agree too. */
  maxPixels: number | null;
}

export interface PartialManifest extends PartialIdentity {
  format: typeof PARTIAL_FORMAT;
  shard: ShardSpec;
  rows: { start: number; end: number };
  embeddingDim: number;
  /** Rows of this partial's .npy. */
  embeddings: number;
  /** SHA-256 of the partial's two files, so a manifest never vouches for other files. */
  files: { embeddings: string; index: string };
}

/** The source's identity as the config pins it. */
export function sourceKeyOf(config: Pick<ReleaseConfig, "source">): string {
  const { location, split } = config.source;
  return location.kind === "hub" ? `hub:${location.repo}@${location.revision}:${split}` : `local:${location.path}:${split}`;
}

export function partialIdentityOf(params: {
  source: string;
  totalRows: number;
  fingerprint: EmbedFingerprintParams;
  noFace: "drop" | "keep";
  maxPixels?: number;
}): PartialIdentity {
  return {
    source: params.source,
    totalRows: params.totalRows,
    fingerprint: embedFingerprint(params.fingerprint),
    fingerprintParams: params.fingerprint,
    noFace: params.noFace,
    maxPixels: params.maxPixels ?? null,
  };
}

export async function sha256OfPath(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** Removes a stale manifest before a shard run, so a killed run never leaves one vouching for old files. */
export async function clearPartialManifest(dir: string): Promise<void> {
  await rm(join(dir, PARTIAL_MANIFEST), { force: true });
}

/** Writes `partial.json` once the partial's two files are complete. */
export async function writePartialManifest(params: {
  dir: string;
  identity: PartialIdentity;
  shard: ShardSpec;
  rows: { start: number; end: number };
  embeddingDim: number;
  embeddings: number;
}): Promise<PartialManifest> {
  const manifest: PartialManifest = {
    format: PARTIAL_FORMAT,
    ...params.identity,
    shard: params.shard,
    rows: params.rows,
    embeddingDim: params.embeddingDim,
    embeddings: params.embeddings,
    files: {
      embeddings: await sha256OfPath(join(params.dir, PARTIAL_EMBEDDINGS)),
      index: await sha256OfPath(join(params.dir, PARTIAL_INDEX)),
    },
  };
  await writeFileAtomic(join(params.dir, PARTIAL_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

export interface EmbedShardRun {
  /** The partial's folder. */
  dir: string;
  rows: { start: number; end: number };
  /** Writes the manifest once `runEmbed` has written the partial's files. */
  finish(summary: { embeddingDim: number; embeddings: number }): Promise<PartialManifest>;
}

/**
 * Turns the plan of `embed --config` into shard `spec`'s: the source sliced, the outputs moved into
 * the partial's folder. The embed cache stays the work dir's, so shards sharing a work dir share it.
 */
export async function prepareEmbedShard(params: {
  plan: EmbedPlan;
  config: Pick<ReleaseConfig, "source" | "workDir">;
  spec: ShardSpec;
  fingerprint: EmbedFingerprintParams;
}): Promise<EmbedShardRun> {
  const { plan, spec } = params;
  const totalRows = plan.source.total;
  const rows = shardRange(spec, totalRows);
  const dir = partialDir(params.config.workDir, spec);
  const identity = partialIdentityOf({
    source: sourceKeyOf(params.config),
    totalRows,
    fingerprint: params.fingerprint,
    noFace: plan.noFace,
    maxPixels: plan.maxPixels,
  });
  await clearPartialManifest(dir);
  plan.source = sliceSource(plan.source, rows.start, rows.end);
  plan.embeddingsPath = join(dir, PARTIAL_EMBEDDINGS);
  plan.indexPath = join(dir, PARTIAL_INDEX);
  return {
    dir,
    rows,
    finish: (summary) =>
      writePartialManifest({ dir, identity, shard: spec, rows, embeddingDim: summary.embeddingDim, embeddings: summary.embeddings }),
  };
}
