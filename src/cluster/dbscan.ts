/**
 * DBSCAN with the cosine metric, label for label what scikit-learn's
 * `DBSCAN(eps, min_samples, metric="cosine").fit_predict(X)` returns for the same rows in the same
 * order (../shared/docs/reference-pipeline.md, "Clustering"), without its O(n^2) memory.
 *
 * sklearn's `dbscan_inner` scans rows in order; the first unlabelled core row opens the next
 * cluster, which a depth-first search grows through core rows only; a border row is labelled by
 * the first cluster whose search pops it. Since one search finishes before the next starts, that
 * is: clusters are the connected components of the core-core neighbour graph, numbered by their
 * smallest row; a border row takes the lowest-numbered cluster among its core neighbours; the
 * rest is noise (-1). We compute exactly that with union-find over the exact neighbour pairs.
 */
import { searchNeighbors, SimilarityWorkers } from "./neighbor-search.ts";
import { checkEmbeddings } from "./prepare-embeddings.ts";
import type { EmbeddingDtype, EmbeddingMatrix, PreparedEmbeddings } from "./prepare-embeddings.ts";
import { UnionFind } from "./union-find.ts";
import { UsageError } from "../common/errors.ts";
import { log } from "../common/logger.ts";

export interface DbscanParams {
  /** Embeddings, one row per image, float32 or float64 (the precision sklearn would compute in). */
  embeddings: EmbeddingMatrix;
  /** Neighbourhood radius in cosine distance, in (0, 2). */
  eps: number;
  /** Rows (itself included) a row needs within eps to be a core row; >= 1. */
  minSamples: number;
  /** Also compute every row's nearest-neighbour similarity (for the statistics). */
  nearestNeighbors?: boolean;
  /**
   * Pairs whose similarity is within this of the threshold are decided by BLAS rounding in
   * sklearn (reference-pipeline.md: ~2e-6 for float32); those that would join two components are
   * reported in `ambiguousPairs`.
   */
  ambiguityMargin?: number;
  /** Rows per similarity tile. */
  tileRows?: number;
  /** Tile runners (one onnxruntime thread each): this thread and threads - 1 workers. */
  threads?: number;
  /**
   * Workers started earlier for these embeddings' dims and `nearestNeighbors` (so that loading
   * onnxruntime overlaps reading the file); this run uses and stops them. Default: new ones.
   */
  workers?: SimilarityWorkers;
  /** min_samples > 2 keeps the neighbour pairs of one pass up to this many, else makes a second pass. */
  maxStoredPairs?: number;
  /** Names the input in errors. */
  source?: string;
  /**
   * Normalise the rows inside `embeddings.data` (the caller gives the array up) to save memory;
   * only possible when it lies on a SharedArrayBuffer (else the workers get a shared copy).
   */
  inPlace?: boolean;
  /** Progress over similarity tiles. */
  onTile?: (done: number, total: number) => void;
}

/** A pair decided by less than the rounding noise of sklearn's BLAS that changes the partition. */
export interface AmbiguousPair {
  i: number;
  j: number;
  /** Exact (float64) cosine similarity of the normalised rows. */
  similarity: number;
  /** The decision taken (and reflected in the labels): neighbours or not. */
  neighbor: boolean;
}

export interface DbscanResult {
  /** sklearn's labels: clusters 0, 1, ... in sklearn's order, -1 for noise. */
  labels: Int32Array;
  /** 1 for core rows. */
  core: Uint8Array;
  /** Rows within eps of each row, itself included (sklearn's `n_neighbors`). */
  neighborCounts: Int32Array;
  /** Number of clusters (max label + 1). */
  clusters: number;
  /** Rows with at least one other row within eps (their nearest neighbour is within eps). */
  rowsWithNeighbor: number;
  /** Near-threshold pairs that join two components of the graph of clear-cut edges. */
  ambiguousPairs: AmbiguousPair[];
  /** Per row, the similarity to its nearest other row, when asked for (see `searchNeighbors`). */
  nearest?: Float64Array;
  /** Bound on the error of `nearest` values below the exact range. */
  nearestMargin?: number;
  /** Least similarity that makes a neighbour in the input precision. */
  threshold: number;
  dtype: EmbeddingDtype;
  /** Pairs re-scored exactly after the int8 prefilter, and similarity passes made. */
  candidates: number;
  passes: number;
}

/** Growable list of pairs, packed as (i, j) with the "ambiguous" flag in j's sign bit. */
class PairList {
  data = new Int32Array(1024);
  length = 0;
  push(i: number, j: number, flag: boolean): void {
    if (this.length + 2 > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = i;
    this.data[this.length++] = flag ? ~j : j;
  }
  get count(): number {
    return this.length / 2;
  }
}

export async function dbscan(params: DbscanParams): Promise<DbscanResult> {
  const { eps, minSamples } = params;
  try {
    if (!Number.isInteger(minSamples) || minSamples < 1) {
      throw new UsageError(`min_samples must be an integer >= 1, got ${minSamples}`);
    }
    checkEmbeddings(params.embeddings, eps, params.source);
  } catch (error) {
    await params.workers?.close();
    throw error;
  }
  // The first pass's workers (started by the caller ahead of reading the file, or here) normalise
  // the rows and then run the search.
  const firstWorkers =
    params.workers ??
    new SimilarityWorkers({ threads: params.threads, dims: params.embeddings.dims, nearestNeighbors: params.nearestNeighbors ?? false });
  let prepared: PreparedEmbeddings;
  try {
    prepared = await firstWorkers.prepare({ matrix: params.embeddings, eps, source: params.source, inPlace: params.inPlace });
  } catch (error) {
    await firstWorkers.close();
    throw error;
  }
  const rows = prepared.rows;
  const margin = params.ambiguityMargin ?? 2e-6;
  const threshold = prepared.threshold;
  // A zero row's similarity is exactly 0 in any BLAS, so only pairs of non-zero rows can be in doubt.
  const inBand = (i: number, j: number, s: number) =>
    Math.abs(s - threshold) <= margin && !prepared.zeroRow[i] && !prepared.zeroRow[j];
  const minSimilarity = threshold - margin - 1e-12;
  const maxStored = params.maxStoredPairs ?? 8_000_000;

  const counts = new Int32Array(rows);
  for (let i = 0; i < rows; i++) counts[i] = prepared.selfNeighbor(i) ? 1 : 0;
  const hasNeighbor = new Uint8Array(rows);
  const components = new UnionFind(rows);
  // Components when every near-threshold pair is left out: a near-threshold pair whose ends lie in
  // two of these is one whose rounding decides the partition.
  const clearComponents = new UnionFind(rows);
  const band: AmbiguousPair[] = [];
  const stored = new PairList();
  let overflow = false;
  // With min_samples <= 2 every row with another neighbour is core, so pairs are unioned on the
  // fly and nothing is stored: one pass, O(n) memory for any eps.
  const simple = minSamples <= 2;

  const search = (onPair: (i: number, j: number, s: number) => void) =>
    searchNeighbors({
      prepared,
      minSimilarity,
      onPair,
      nearestNeighbors: params.nearestNeighbors && passes === 0,
      workers: passes === 0 ? firstWorkers : undefined,
      tileRows: params.tileRows,
      threads: params.threads,
      onTile: params.onTile,
    });

  let passes = 0;
  const first = await search((i, j, s) => {
    const neighbor = prepared.isNeighbor(s);
    const ambiguous = inBand(i, j, s);
    if (ambiguous) band.push({ i, j, similarity: s, neighbor });
    if (!neighbor) return;
    hasNeighbor[i] = 1;
    hasNeighbor[j] = 1;
    counts[i]!++;
    counts[j]!++;
    if (simple) {
      components.union(i, j);
      if (!ambiguous) clearComponents.union(i, j);
    } else if (!overflow) {
      if (stored.count < maxStored) stored.push(i, j, ambiguous);
      else overflow = true;
    }
  });
  passes++;
  let candidates = first.candidates;
  const t = first.timings;
  log.debug(
    `cluster: ${first.tiles} tiles, ${first.candidates} candidates; quantise ${t.quantize.toFixed(2)} s, ` +
      `tiles ${t.onnxruntime.toFixed(2)} s summed over workers, search ${t.total.toFixed(2)} s (margin ${first.quantizationMargin.toFixed(4)})`,
  );

  const core = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) core[i] = counts[i]! >= minSamples ? 1 : 0;
  // Border rows have fewer than min_samples neighbours, so these links number < n * min_samples.
  const borderLinks = new PairList();
  if (!simple) {
    const link = (i: number, j: number, ambiguous: boolean) => {
      if (core[i] && core[j]) {
        components.union(i, j);
        if (!ambiguous) clearComponents.union(i, j);
      } else if (core[i]) borderLinks.push(j, i, false);
      else if (core[j]) borderLinks.push(i, j, false);
    };
    if (!overflow) {
      const data = stored.data;
      for (let p = 0; p < stored.length; p += 2) {
        const j = data[p + 1]!;
        link(data[p]!, j < 0 ? ~j : j, j < 0);
      }
    } else {
      const second = await search((i, j, s) => {
        if (prepared.isNeighbor(s)) link(i, j, inBand(i, j, s));
      });
      passes++;
      candidates += second.candidates;
    }
  }

  const labels = new Int32Array(rows).fill(-1);
  const clusterOfRoot = new Int32Array(rows).fill(-1);
  let clusters = 0;
  for (let i = 0; i < rows; i++) {
    if (!core[i]) continue;
    const root = components.find(i);
    if (clusterOfRoot[root] === -1) clusterOfRoot[root] = clusters++;
    labels[i] = clusterOfRoot[root]!;
  }
  const links = borderLinks.data;
  for (let p = 0; p < borderLinks.length; p += 2) {
    const border = links[p]!;
    const label = labels[links[p + 1]!]!;
    if (labels[border] === -1 || label < labels[border]!) labels[border] = label;
  }

  // Tiles finish in any order across workers; report in row order.
  const ambiguousPairs = band
    .filter((pair) => clearComponents.find(pair.i) !== clearComponents.find(pair.j))
    .sort((a, b) => a.i - b.i || a.j - b.j);
  return {
    labels,
    core,
    neighborCounts: counts,
    clusters,
    rowsWithNeighbor: hasNeighbor.reduce((a, b) => a + b, 0),
    ambiguousPairs,
    nearest: first.nearest,
    nearestMargin: first.nearest ? first.quantizationMargin : undefined,
    threshold,
    dtype: prepared.dtype,
    candidates,
    passes,
  };
}
