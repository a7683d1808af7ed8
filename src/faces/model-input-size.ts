/**
 * Detector blob geometry: the model's own input size when it is fixed, else the requested size
 * (rounded up to `multipleOf`). `fitSize` is the square the image is letterboxed into: the
 * requested detection size, so a model fixed at 640 still sees a 256 px image exactly as a
 * dynamic model run at 256 would (the extra blob area is zero pixels, like the letterbox padding).
 */
import type { InferenceSession } from "onnxruntime-node";

export function modelInputSize(
  session: InferenceSession,
  requested: number,
  multipleOf = 1,
): { width: number; height: number; fitSize: number } {
  const meta = session.inputMetadata[0];
  const shape = meta && meta.isTensor ? meta.shape : [];
  const h = shape[2];
  const w = shape[3];
  if (typeof h === "number" && typeof w === "number" && h > 0 && w > 0) {
    return { width: w, height: h, fitSize: Math.min(requested, w, h) };
  }
  const size = Math.ceil(requested / multipleOf) * multipleOf;
  return { width: size, height: size, fitSize: requested };
}
