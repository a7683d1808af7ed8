/**
 * The card's nearest-neighbour analysis (../shared/docs/reference-pipeline.md, "Choosing eps"):
 * the histogram of every row's similarity to its nearest other row, exact duplicates left out,
 * its two modes (same person ~0.8, look-alikes ~0.25), the valley between them and Otsu's
 * threshold. 1 - valley is the suggested eps.
 */

export interface NearestNeighborHistogramParams {
  /** Per row, cosine similarity to the nearest other row; NaN where there is none (n = 1). */
  nearest: ArrayLike<number>;
  /** Bin width over [-1, 1]. */
  binWidth?: number;
  /** Rows whose nearest similarity is >= this have an exact duplicate and are left out. */
  duplicateSimilarity?: number;
  /** Half-width, in bins, of the moving average used to find modes and the valley. */
  smoothingBins?: number;
  /** The two modes must be at least this far apart (in similarity). */
  minModeSeparation?: number;
}

export interface NearestNeighborHistogram {
  binWidth: number;
  /** Lower edge of bin 0; bin k covers [start + k w, start + (k + 1) w). */
  start: number;
  counts: number[];
  /** Rows counted (finite, not duplicates). */
  rows: number;
  /** Rows left out because an identical row exists. */
  exactDuplicates: number;
  /** Centres of the two highest modes of the smoothed histogram, low first; fewer if absent. */
  modes: number[];
  /** Centre of the lowest smoothed bin between the two modes; null without two modes. */
  valley: number | null;
  /** Otsu's threshold on the raw histogram (a bin edge); null with fewer than two occupied bins. */
  otsuThreshold: number | null;
  /** 1 - valley, rounded to 3 decimals; null without a valley. */
  suggestedEps: number | null;
}

export function nearestNeighborHistogram(params: NearestNeighborHistogramParams): NearestNeighborHistogram {
  const width = params.binWidth ?? 0.01;
  const duplicate = params.duplicateSimilarity ?? 1 - 1e-6;
  const radius = params.smoothingBins ?? 2;
  const separation = Math.max(1, Math.round((params.minModeSeparation ?? 0.1) / width));
  const start = -1;
  const bins = Math.round(2 / width);
  const counts = new Array<number>(bins).fill(0);
  let rows = 0;
  let exactDuplicates = 0;
  for (let i = 0; i < params.nearest.length; i++) {
    const s = params.nearest[i]!;
    if (!Number.isFinite(s)) continue;
    if (s >= duplicate) {
      exactDuplicates++;
      continue;
    }
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((s - start) / width)));
    counts[bin]!++;
    rows++;
  }
  const centre = (bin: number) => round(start + (bin + 0.5) * width);

  const smooth = counts.map((_, k) => {
    let sum = 0;
    for (let j = k - radius; j <= k + radius; j++) sum += counts[Math.min(bins - 1, Math.max(0, j))]!;
    return sum / (2 * radius + 1);
  });
  // Local maxima of the smoothed histogram (plateaus count once, at their middle), highest first.
  const peaks: number[] = [];
  for (let k = 0; k < bins; k++) {
    if (smooth[k]! <= 0 || (k > 0 && smooth[k - 1]! > smooth[k]!)) continue;
    let end = k;
    while (end + 1 < bins && smooth[end + 1] === smooth[k]) end++;
    if (end + 1 < bins && smooth[end + 1]! > smooth[k]!) continue;
    if (k > 0 && smooth[k - 1] === smooth[k]) continue;
    peaks.push(Math.floor((k + end) / 2));
  }
  peaks.sort((a, b) => smooth[b]! - smooth[a]! || a - b);
  const first = peaks[0];
  const second = first === undefined ? undefined : peaks.find((p) => Math.abs(p - first) >= separation);
  let modes: number[] = [];
  let valley: number | null = null;
  if (first !== undefined && second !== undefined) {
    const [lo, hi] = first < second ? [first, second] : [second, first];
    modes = [centre(lo), centre(hi)];
    let best = lo;
    for (let k = lo; k <= hi; k++) if (smooth[k]! < smooth[best]!) best = k;
    // A flat-bottomed valley: take the middle of the run of minimal bins.
    let end = best;
    while (end + 1 <= hi && smooth[end + 1] === smooth[best]) end++;
    valley = centre(Math.floor((best + end) / 2));
  } else if (first !== undefined) {
    modes = [centre(first)];
  }
  return {
    binWidth: width,
    start,
    counts,
    rows,
    exactDuplicates,
    modes,
    valley,
    otsuThreshold: otsu(counts, start, width),
    suggestedEps: valley === null ? null : round(1 - valley, 3),
  };
}

/** Otsu: the bin edge that maximises the between-class variance of the histogram. */
function otsu(counts: number[], start: number, width: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.filter((c) => c > 0).length < 2) return null;
  let sumAll = 0;
  counts.forEach((c, k) => (sumAll += c * k));
  let weightLow = 0;
  let sumLow = 0;
  let best = -1;
  let bestEdge = 0;
  for (let k = 0; k < counts.length - 1; k++) {
    weightLow += counts[k]!;
    sumLow += counts[k]! * k;
    const weightHigh = total - weightLow;
    if (weightLow === 0 || weightHigh === 0) continue;
    const meanLow = sumLow / weightLow;
    const meanHigh = (sumAll - sumLow) / weightHigh;
    const between = weightLow * weightHigh * (meanLow - meanHigh) ** 2;
    if (between > best) {
      best = between;
      bestEdge = k + 1;
    }
  }
  return round(start + bestEdge * width);
}

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
