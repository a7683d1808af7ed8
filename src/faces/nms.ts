/**
 * Greedy non-maximum suppression over boxes already sorted by descending score.
 * `pixelInclusive` adds 1 to widths and heights as InsightFace's SCRFD `nms` does; OpenCV's
 * `NMSBoxes` (used by FaceDetectorYN) does not.
 */
export function nonMaxSuppression(
  boxes: ArrayLike<number>[],
  iouThreshold: number,
  pixelInclusive: boolean,
): number[] {
  const one = pixelInclusive ? 1 : 0;
  const kept: number[] = [];
  const suppressed = new Uint8Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    if (suppressed[i]) continue;
    kept.push(i);
    const a = boxes[i]!;
    const areaA = (a[2]! - a[0]! + one) * (a[3]! - a[1]! + one);
    for (let j = i + 1; j < boxes.length; j++) {
      if (suppressed[j]) continue;
      const b = boxes[j]!;
      const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!) + one);
      const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!) + one);
      const inter = w * h;
      const areaB = (b[2]! - b[0]! + one) * (b[3]! - b[1]! + one);
      if (inter / (areaA + areaB - inter) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}
