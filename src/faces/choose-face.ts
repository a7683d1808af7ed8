/**
 * The release's rule for an image with several faces (reference-pipeline.md "Which face of an
 * image"): keep the largest `area * (1 - offset)^2`, offset = distance from the box centre to the
 * image centre divided by the image diagonal. Ties keep the earlier (higher-scoring) detection.
 */
import type { Detection } from "./types.ts";

export function faceChoiceScore(face: Detection, width: number, height: number): number {
  const [x1, y1, x2, y2] = face.box;
  const area = (x2 - x1) * (y2 - y1);
  const dx = (x1 + x2) / 2 - width / 2;
  const dy = (y1 + y2) / 2 - height / 2;
  const offset = Math.hypot(dx, dy) / Math.hypot(width, height);
  return area * (1 - offset) ** 2;
}

/** Index of the chosen face in `detections`, or -1 when there is none. */
export function chooseFaceIndex(detections: readonly Detection[], width: number, height: number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < detections.length; i++) {
    const score = faceChoiceScore(detections[i]!, width, height);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/** The chosen face, or undefined when there is none. */
export function chooseFace(detections: readonly Detection[], width: number, height: number): Detection | undefined {
  const index = chooseFaceIndex(detections, width, height);
  return index < 0 ? undefined : detections[index];
}
