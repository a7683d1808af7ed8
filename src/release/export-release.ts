/**
 * Builds a release's Parquet shards from the source images, the embed index and the cluster
 * labels, in two passes so memory stays bounded whatever the dataset size:
 *
 * 1. Read the source in order; keep the rows the release has (a face found, or kept by policy; not
 *    dropped as noise); transform their images (keep the bytes, or resize + re-encode, the same
 *    bytes the embed stage embedded); append the image bytes to a spool file; count the Arrow size.
 * 2. Plan the shards from that size (`planShards`) and write them from the spool, row group by row
 *    group (`writeReleaseShards`).
 *
 * Rows keep source order (labels depend on it, ../shared/docs/reference-pipeline.md). What a row's
 * `cluster_id` and `cluster_size` are is fixed in label-counts.ts: an identity's rows carry its id
 * and `cluster_size` counted here from the rows actually written; DBSCAN noise kept by
 * `noise: keep` is -1 with size 1; an image without a face kept by `no_face: keep` (it has no
 * embedding, so it was never clustered) is null with size null. A row that could not be read or
 * decoded is never in the release (it would break `datasets`' image decoding), whatever the policy.
 * An image a person excluded in the identity review (`excludedRows`, issue #13) is never in it
 * either, whatever its status and the noise policy.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import pLimit from "p-limit";
import { UsageError } from "../common/errors.ts";
import type { ImageSource, ImageTransform, SourceImage } from "../source/index.ts";
import { transformImage } from "../source/index.ts";
import { passThroughValue } from "./pass-through-columns.ts";
import type { EmbedIndexEntry } from "./read-embed-index.ts";
import type { ReleaseDataInfo } from "./release-data-info.ts";
import { countLabels, NOISE_CLUSTER_ID, NOISE_CLUSTER_SIZE } from "./label-counts.ts";
import { ArrowSizeCounter, CORE_COLUMNS } from "./release-schema.ts";
import type { ReleaseColumn, ReleaseRow } from "./release-schema.ts";
import { writeReleaseShards } from "./write-release-shards.ts";

/** A source row that is not in the release (or has no identity), and why. */
export interface ReleaseProblem {
  row: number;
  fileName: string;
  status: "no_face" | "error";
  reason: string;
}

export interface ExportReleaseParams {
  /** The source the embed stage read (same rows, same order). */
  source: ImageSource;
  /** The embed index: one entry per source row. */
  index: readonly EmbedIndexEntry[];
  /**
   * Final cluster label per row of embeddings.npy (after the noise policy); -1 = noise kept. The
   * label of a row without a face (a zero row under `no_face: keep`) is ignored: it has no identity.
   */
  labels: ArrayLike<bigint | number>;
  /**
   * Source-row -> label-row mapping when the labels do not follow embeddings.npy one to one
   * (noise dropped): the embeddings row of each label. Undefined: label i is embeddings row i.
   */
  labelRows?: ArrayLike<bigint | number>;
  /**
   * Embeddings rows excluded by the identity review: not in the release whatever their status (an
   * image without a face kept by `no_face: keep` included), not counted as dropped noise, and not
   * listed among the `problems`.
   */
  excludedRows?: ArrayLike<bigint | number>;
  /** Pass-through columns (see pass-through-columns.ts), after the four core columns. */
  passThrough: readonly ReleaseColumn[];
  /** Resize + re-encode; undefined keeps the source bytes. */
  transform?: ImageTransform;
  /** Pixel limit for the transform's decoder. */
  maxPixels?: number;
  /** Release folder. */
  outDir: string;
  split: string;
  maxShardSize: number;
  rowGroupSize: number;
  /** Spool file for the image bytes between the passes (removed at the end). */
  spoolPath: string;
  /** Concurrent image transforms. */
  concurrency?: number;
  /** Called after each source row read (pass 1) and each row group written (pass 2). */
  onProgress?: (phase: "read" | "write", done: number, total: number) => void;
}

export interface ExportReleaseResult {
  /** Shards and sizes, and `labels`: the rows by identity, noise (-1) and no face (null). */
  data: ReleaseDataInfo & { labels: NonNullable<ReleaseDataInfo["labels"]> };
  /**
   * Rows without a face or with errors, from the embed index: `no_face` rows are in the release
   * (null `cluster_id`) when the embed stage kept them (`no_face: keep`), `error` rows never.
   */
  problems: ReleaseProblem[];
  /** Rows dropped because their label is noise dropped by the clustering's noise policy. */
  droppedNoise: number;
  /** Source rows left out because the review excluded them (`excludedRows`). */
  excluded: number;
  /** The source row of each written row, in release order (they key the rows by the embed index's image SHA-256). */
  sourceRows: number[];
  /** Bytes of image data written (sum over rows of the image cell's bytes). */
  imageBytes: number;
}

interface SpooledRow {
  /** Source row. */
  row: number;
  offset: number;
  length: number;
  fileName: string;
  clusterId: number | null;
  extra: unknown[];
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * `image.path`: the bare file name (hf-parquet-and-card.md; `datasets`' `Image.embed_storage` keeps
 * `os.path.basename` of the path, never a folder of the machine that built it), with the extension
 * of the transform's format when the bytes were re-encoded; null for a source row that had no name
 * (a Parquet row without `image.path`, named `<shard>#<row>` by the source), as `datasets` writes
 * in-memory images.
 */
export function imagePath(fileName: string, transform: ImageTransform | undefined): string | null {
  if (/#\d+$/.test(fileName)) return null;
  // Either separator: a Windows path in a source's `image.path` is a folder too.
  const name = fileName.split(/[\\/]/).pop() ?? fileName;
  if (!transform) return name;
  const extension = transform.format === "jpeg" ? ".jpg" : `.${transform.format}`;
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name) + extension;
}

export async function exportRelease(params: ExportReleaseParams): Promise<ExportReleaseResult> {
  const { index, source } = params;
  if (index.length !== source.total) {
    throw new UsageError(`the embed index lists ${index.length} rows but the source has ${source.total}; re-run idclusters embed`);
  }
  // Label of each embeddings row (undefined: dropped as noise).
  const labelOfEmbedding = new Map<number, number>();
  for (let i = 0; i < params.labels.length; i++) {
    const embeddingRow = params.labelRows ? Number(params.labelRows[i]) : i;
    labelOfEmbedding.set(embeddingRow, Number(params.labels[i]));
  }
  const excludedEmbedding = new Set<number>();
  for (let i = 0; i < (params.excludedRows?.length ?? 0); i++) excludedEmbedding.add(Number(params.excludedRows![i]));
  const isExcluded = (entry: EmbedIndexEntry) => entry.embeddingRow !== null && excludedEmbedding.has(entry.embeddingRow);
  const problems: ReleaseProblem[] = [];
  // cluster_id per source row: a number, null (no face, kept), undefined (not in the release).
  const clusterIdOf: (number | null | undefined)[] = index.map((entry) => {
    if (isExcluded(entry)) return undefined;
    if (entry.status !== "ok") {
      problems.push({ row: entry.row, fileName: entry.fileName, status: entry.status, reason: entry.reason ?? entry.status });
      // A row without a face is in the release only when the embed stage kept it (no_face: keep),
      // i.e. gave it an (all-zero) embedding row; it has no identity, whatever DBSCAN made of
      // that zero row. A row that could not be read or decoded is never in the release.
      return entry.status === "no_face" && entry.embeddingRow !== null ? null : undefined;
    }
    if (entry.embeddingRow === null) throw new UsageError(`embed index row ${entry.row} (${entry.fileName}) is ok but has no embedding_row`);
    if (!labelOfEmbedding.has(entry.embeddingRow)) {
      if (params.labelRows) return undefined; // noise dropped by the clustering
      throw new UsageError(
        `labels cover ${params.labels.length} embeddings but row ${entry.row} is embedding ${entry.embeddingRow}; re-run idclusters cluster`,
      );
    }
    const label = labelOfEmbedding.get(entry.embeddingRow)!;
    if (!Number.isInteger(label) || label < NOISE_CLUSTER_ID) {
      throw new UsageError(`row ${entry.row} (${entry.fileName}) has label ${label}; labels are ids >= 0 or -1 for noise; re-run idclusters cluster`);
    }
    return label;
  });
  const droppedNoise = index.filter((e, i) => e.status === "ok" && clusterIdOf[i] === undefined && !isExcluded(e)).length;
  const excluded = index.filter(isExcluded).length;
  const sizeOf = new Map<number, number>();
  for (const id of clusterIdOf) if (typeof id === "number" && id >= 0) sizeOf.set(id, (sizeOf.get(id) ?? 0) + 1);
  const sizeOfId = (id: number | null): number | null => (id === null ? null : id === NOISE_CLUSTER_ID ? NOISE_CLUSTER_SIZE : sizeOf.get(id)!);

  const columns: ReleaseColumn[] = [...CORE_COLUMNS, ...params.passThrough];
  const counter = new ArrowSizeCounter(columns);
  await mkdir(dirname(params.spoolPath), { recursive: true });
  const spool = openSync(params.spoolPath, "w");
  const spooled: SpooledRow[] = [];
  let spoolSize = 0;
  let imageBytes = 0;
  try {
    // Pass 1: transform in parallel, spool in source order.
    const limit = pLimit(params.concurrency ?? 4);
    const pending: Promise<void>[] = [];
    let chain = Promise.resolve();
    let read = 0;
    const handle = async (image: SourceImage, bytesPromise: Promise<Uint8Array>): Promise<void> => {
      const bytes = await bytesPromise;
      const extra = params.passThrough.map((column) => passThroughValue(column, image.extra[column.name]));
      const clusterId = clusterIdOf[image.row] ?? null;
      const row: ReleaseRow = {
        image: { bytes, path: imagePath(image.fileName, params.transform) },
        file_name: image.fileName,
        cluster_id: clusterId,
        cluster_size: sizeOfId(clusterId),
      };
      params.passThrough.forEach((column, i) => (row[column.name] = extra[i]));
      counter.add(row);
      let done = 0;
      while (done < bytes.length) done += writeSync(spool, bytes, done, bytes.length - done);
      spooled.push({ row: image.row, offset: spoolSize, length: bytes.length, fileName: image.fileName, clusterId, extra });
      spoolSize += bytes.length;
      imageBytes += bytes.length;
    };
    for await (const image of source.images()) {
      const entry = index[image.row];
      if (!entry || entry.fileName !== image.fileName) {
        throw new UsageError(
          `source row ${image.row} is ${image.fileName} but the embed index has ${entry?.fileName ?? "nothing"} there; re-run idclusters embed`,
        );
      }
      params.onProgress?.("read", ++read, source.total);
      if (clusterIdOf[image.row] === undefined) continue;
      if (!image.bytes) throw new UsageError(`source row ${image.row} (${image.fileName}) has no bytes: ${image.problem ?? "unreadable"}`);
      const original = image.bytes;
      if (entry.imageSha256 && sha256(original) !== entry.imageSha256) {
        throw new UsageError(`source row ${image.row} (${image.fileName}) changed since idclusters embed read it (sha256 differs); re-run embed`);
      }
      const transformed = params.transform
        ? limit(() => transformImage(original, params.transform!, { maxPixels: params.maxPixels }))
        : Promise.resolve(original);
      // A failure surfaces once, through `chain`; the copies only pace the loop.
      transformed.catch(() => undefined);
      // Spool strictly in source order; keep at most a few transforms in flight.
      chain = chain.then(() => handle(image, transformed));
      pending.push(chain.catch(() => undefined));
      if (pending.length >= 16) await pending.shift();
    }
    await chain;
  } finally {
    closeSync(spool);
  }

  // Pass 2: rows from the spool, read a row group's worth at a time into a ring buffer; each row's
  // image is a view into it. The shard writer packs (copies) a row group as soon as it has
  // `rowGroupSize` rows, so at most two chunks are referenced while the third is read: a ring of
  // four chunks is never overwritten under a live view, and no per-row buffer is allocated.
  const reader = openSync(params.spoolPath, "r");
  try {
    const chunkRows = params.rowGroupSize;
    let largestChunk = 0;
    for (let i = 0; i < spooled.length; i += chunkRows) {
      const last = spooled[Math.min(i + chunkRows, spooled.length) - 1]!;
      largestChunk = Math.max(largestChunk, last.offset + last.length - spooled[i]!.offset);
    }
    const ring = new Uint8Array(Math.max(4 * largestChunk, 1));
    let ringAt = 0;
    const rows = function* (): Generator<ReleaseRow> {
      for (let first = 0; first < spooled.length; first += chunkRows) {
        const chunk = spooled.slice(first, first + chunkRows);
        const start = chunk[0]!.offset;
        const size = chunk[chunk.length - 1]!.offset + chunk[chunk.length - 1]!.length - start;
        if (ringAt + size > ring.length) ringAt = 0;
        let done = 0;
        while (done < size) {
          const n = readSync(reader, ring, ringAt + done, size - done, start + done);
          if (n === 0) throw new Error(`${params.spoolPath} ended early`);
          done += n;
        }
        const base = ringAt;
        ringAt += size;
        for (const s of chunk) {
          const row: ReleaseRow = {
            image: { bytes: ring.subarray(base + s.offset - start, base + s.offset - start + s.length), path: imagePath(s.fileName, params.transform) },
            file_name: s.fileName,
            cluster_id: s.clusterId,
            cluster_size: sizeOfId(s.clusterId),
          };
          params.passThrough.forEach((column, i) => (row[column.name] = s.extra[i]));
          yield row;
        }
      }
    };
    const data = await writeReleaseShards({
      outDir: params.outDir,
      split: params.split,
      columns,
      rows: rows(),
      numRows: spooled.length,
      numBytes: counter.bytes(),
      maxShardSize: params.maxShardSize,
      rowGroupSize: params.rowGroupSize,
      onProgress: (done) => params.onProgress?.("write", done, spooled.length),
    });
    return {
      data: { ...data, labels: countLabels(spooled.map((s) => s.clusterId)) },
      problems,
      droppedNoise,
      excluded,
      sourceRows: spooled.map((s) => s.row),
      imageBytes,
    };
  } finally {
    closeSync(reader);
    await rm(params.spoolPath, { force: true });
  }
}
