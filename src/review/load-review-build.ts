/**
 * Reads the work dir's last build for review: the embed index (file names, image SHA-256, face
 * boxes; read-review-index.ts), the embeddings, DBSCAN's labels after the noise policy and the cluster statistics
 * (eps, ambiguous pairs). A missing file is a usage error naming it and the command that makes it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { UsageError } from "../common/errors.ts";
import { readNpy } from "../common/npy.ts";
import { readReviewIndex } from "./read-review-index.ts";
import type { ReviewBuild, ReviewPair } from "./review-types.ts";

export interface LoadReviewBuildParams {
  /** `embeddings.npy`: float32 [n, d], L2-normalised rows. */
  embeddingsPath: string;
  /** `embeddings-index.parquet`: one entry per source row. */
  indexPath: string;
  /** DBSCAN's int64 labels per embedding row, noise policy applied (`labels-sklearn.npy`). */
  labelsPath: string;
  /** With `noise: drop`: the embedding row of each label (`label-rows.npy`); ignored when absent. */
  labelRowsPath?: string;
  /** `cluster-stats.json`: eps, min_samples, noise policy, ambiguous pairs. */
  statsPath: string;
  /** What to tell the user to run when a file is missing, e.g. "idclusters run --config c.yaml". */
  buildCommand: string;
}

function need(path: string, what: string, command: string): void {
  if (!existsSync(path)) throw new UsageError(`${path} is missing (${what}): the work dir has no build yet; run ${command} first`);
}

function int64Rows(path: string): Int32Array {
  const array = readNpy(path);
  if (array.shape.length !== 1 || (array.dtype !== "int64" && array.dtype !== "int32")) {
    throw new UsageError(`${path}: expected a 1-D int64 array, got ${array.dtype} (${array.shape.join(", ")})`);
  }
  return array.data instanceof BigInt64Array ? Int32Array.from(array.data, (v) => Number(v)) : Int32Array.from(array.data as Int32Array);
}

export async function loadReviewBuild(params: LoadReviewBuildParams): Promise<ReviewBuild> {
  const command = params.buildCommand;
  need(params.indexPath, "the embed index", command);
  need(params.embeddingsPath, "the embeddings", command);
  need(params.labelsPath, "DBSCAN's labels", command);
  need(params.statsPath, "the cluster statistics", command);

  const index = await readReviewIndex({ indexPath: params.indexPath });
  const sourceRows = index.status.length;
  const npy = readNpy(params.embeddingsPath);
  if (npy.shape.length !== 2 || (npy.dtype !== "float32" && npy.dtype !== "float64")) {
    throw new UsageError(`${params.embeddingsPath}: expected a 2-D float32 array, got ${npy.dtype} (${npy.shape.join(", ")})`);
  }
  const [embeddingRows, dims] = npy.shape as [number, number];
  const embeddings = npy.data instanceof Float32Array ? npy.data : Float32Array.from(npy.data as Float64Array);
  const labels = int64Rows(params.labelsPath);

  let stats: { eps?: unknown; min_samples?: unknown; noise_policy?: unknown; ambiguous_pairs?: unknown };
  try {
    stats = JSON.parse(await readFile(params.statsPath, "utf8"));
  } catch {
    throw new UsageError(`${params.statsPath} is not valid JSON; run ${command} again`);
  }
  const noise = String(stats.noise_policy ?? "singleton");

  // Which embedding row each label belongs to: all of them in order, unless noise rows were dropped.
  let labelRows: Int32Array;
  if (labels.length === embeddingRows) labelRows = Int32Array.from({ length: embeddingRows }, (_, i) => i);
  else {
    if (!params.labelRowsPath || !existsSync(params.labelRowsPath)) {
      throw new UsageError(`${params.labelsPath} has ${labels.length} labels for ${embeddingRows} embeddings and ${params.labelRowsPath ?? "label-rows.npy"} is missing; run ${command} again`);
    }
    labelRows = int64Rows(params.labelRowsPath);
    if (labelRows.length !== labels.length) throw new UsageError(`${params.labelRowsPath} has ${labelRows.length} rows for ${labels.length} labels; run ${command} again`);
  }

  const entryOfEmbedding = new Int32Array(embeddingRows).fill(-1);
  for (let row = 0; row < sourceRows; row++) {
    const e = index.embeddingRow[row]!;
    if (e < 0) continue;
    if (e >= embeddingRows) throw new UsageError(`${params.indexPath}: row ${row} points at embedding row ${e} of ${embeddingRows}; the index and ${params.embeddingsPath} are from different builds`);
    entryOfEmbedding[e] = row;
  }

  const sourceRow: number[] = [];
  const embeddingRow: number[] = [];
  const fileName: string[] = [];
  const sha256: string[] = [];
  const reviewLabels: number[] = [];
  const reviewOfEmbedding = new Int32Array(embeddingRows).fill(-1);
  let noFace = 0;
  let error = 0;
  for (const status of index.status) {
    if (status === "no_face") noFace++;
    else if (status === "error") error++;
  }
  // Labels follow embedding rows, which follow source order: so review rows are in source order.
  for (let k = 0; k < labels.length; k++) {
    const e = labelRows[k]!;
    const row = entryOfEmbedding[e]!;
    if (row < 0) throw new UsageError(`${params.labelsPath}: embedding row ${e} has no entry in ${params.indexPath}; the files are from different builds`);
    const sha = index.sha256[row];
    // Rows without a face (zero rows of `no_face: keep`) are no identity: nothing to review.
    if (index.status[row] !== "ok" || !sha) continue;
    reviewOfEmbedding[e] = sourceRow.length;
    sourceRow.push(row);
    embeddingRow.push(e);
    fileName.push(index.fileName[row]!);
    sha256.push(sha);
    reviewLabels.push(labels[k]!);
  }
  // Images of the source that are not reviewable, and why: a decision naming one says so.
  const reviewed = new Set(sha256);
  const droppedNoise = new Set<number>();
  if (labels.length !== embeddingRows) {
    const labelled = new Set(labelRows);
    for (let e = 0; e < embeddingRows; e++) if (!labelled.has(e)) droppedNoise.add(e);
  }
  const absent = new Map<string, string>();
  const absentNames = new Map<string, string>();
  for (let row = 0; row < sourceRows; row++) {
    const sha = index.sha256[row];
    if (!sha || reviewed.has(sha)) continue;
    const status = index.status[row];
    const why =
      status === "no_face"
        ? "has no detected face: it has no identity to merge, split, move into or check"
        : status === "error"
          ? "could not be read when the build embedded it"
          : droppedNoise.has(index.embeddingRow[row]!)
            ? "is DBSCAN noise, dropped from the release (noise: drop)"
            : "is not in this build";
    absent.set(sha, why);
    absentNames.set(sha, index.fileName[row]!);
  }
  const box = new Float64Array(sourceRow.length * 4);
  sourceRow.forEach((row, i) => box.set(index.box.subarray(row * 4, row * 4 + 4), i * 4));

  const pairs = Array.isArray(stats.ambiguous_pairs) ? (stats.ambiguous_pairs as { i: number; j: number; similarity: number }[]) : [];
  const ambiguousPairs: ReviewPair[] = [];
  for (const p of pairs) {
    const a = reviewOfEmbedding[p.i] ?? -1;
    const b = reviewOfEmbedding[p.j] ?? -1;
    if (a >= 0 && b >= 0) ambiguousPairs.push({ a, b, similarity: p.similarity });
  }

  return {
    rows: { sourceRow: Int32Array.from(sourceRow), embeddingRow: Int32Array.from(embeddingRow), fileName, sha256, box },
    labels: Int32Array.from(reviewLabels),
    embeddings,
    dims,
    ambiguousPairs,
    absent,
    absentNames,
    eps: Number(stats.eps),
    minSamples: Number(stats.min_samples),
    noise,
    skipped: { noFace, error, droppedNoise: embeddingRows - labels.length },
  };
}
