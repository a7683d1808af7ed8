/**
 * Least-squares similarity transform (rotation, uniform scale, translation) mapping `src` points
 * onto `dst` points: what scikit-image's `SimilarityTransform.estimate` (Umeyama 1991) computes and
 * InsightFace's `norm_crop` uses (reference-pipeline.md "Alignment").
 *
 * In 2-D Umeyama's solution has a closed form: with demeaned points, a = sum(s.d) / sum(|s|^2) and
 * b = sum(s x d) / sum(|s|^2) give the matrix [[a, -b], [b, a]]; its rotation is the proper rotation
 * Umeyama picks (det +1, including its reflection-sign correction) and its scale is Umeyama's
 * trace(S D) / var(src).
 */

/** Row-major 2x3 affine matrix [m00, m01, m02, m10, m11, m12]: dst = M * [x, y, 1]. */
export type Affine2x3 = [number, number, number, number, number, number];

export function estimateSimilarity(src: readonly (readonly [number, number])[], dst: readonly (readonly [number, number])[]): Affine2x3 {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`estimateSimilarity needs matching point lists of 2+ points, got ${n} and ${dst.length}`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0]; sy += src[i]![1];
    dx += dst[i]![0]; dy += dst[i]![1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const ax = src[i]![0] - sx, ay = src[i]![1] - sy;
    const bx = dst[i]![0] - dx, by = dst[i]![1] - dy;
    dot += ax * bx + ay * by;
    cross += ax * by - ay * bx;
    norm += ax * ax + ay * ay;
  }
  if (norm === 0) throw new Error("estimateSimilarity: source points are all identical");
  const a = dot / norm;
  const b = cross / norm;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}
