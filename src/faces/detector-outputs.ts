/**
 * Groups a detector's output tensors into pyramid levels (one stride each) by reading names and
 * shapes from the model, never hard-coded counts: `score_8` / `cls_16` / `bbox_32` ... carry their
 * stride in the name; unnamed outputs fall back to InsightFace's positional order (all scores, then
 * all boxes, then all keypoints, strides 8, 16, 32[, 64, 128]).
 */
import type { Tensor } from "onnxruntime-node";

export interface LevelOutputs {
  stride: number;
  /** Candidates at this level (rows of every tensor below). */
  count: number;
  /** Tensors by role ("score", "cls", "obj", "bbox", "kps"), data as float32. */
  tensors: Record<string, Float32Array>;
}

const NAMED = /^(score|cls|obj|bbox|kps)_(\d+)$/;

function rowsOf(tensor: Tensor): number {
  // [1, N, C] (batched export) or [N, C].
  const dims = tensor.dims;
  return dims.length >= 2 ? Number(dims[dims.length - 2]) : Number(dims[0]);
}

export function groupLevels(outputs: Record<string, Tensor>, outputNames: readonly string[], roles: string[]): LevelOutputs[] {
  const byStride = new Map<number, LevelOutputs>();
  const named = outputNames.every((n) => NAMED.test(n));
  if (named) {
    for (const name of outputNames) {
      const [, role, strideText] = NAMED.exec(name)!;
      const stride = Number(strideText);
      const tensor = outputs[name]!;
      let level = byStride.get(stride);
      if (!level) byStride.set(stride, (level = { stride, count: rowsOf(tensor), tensors: {} }));
      level.tensors[role!] = tensor.data as Float32Array;
    }
  } else {
    const levels = outputNames.length / roles.length;
    if (!Number.isInteger(levels)) {
      throw new Error(`detector has ${outputNames.length} outputs, expected a multiple of ${roles.length} (${roles.join(", ")})`);
    }
    for (let r = 0; r < roles.length; r++) {
      for (let l = 0; l < levels; l++) {
        const stride = 8 << l;
        const tensor = outputs[outputNames[r * levels + l]!]!;
        let level = byStride.get(stride);
        if (!level) byStride.set(stride, (level = { stride, count: rowsOf(tensor), tensors: {} }));
        level.tensors[roles[r]!] = tensor.data as Float32Array;
      }
    }
  }
  const result = [...byStride.values()].sort((a, b) => a.stride - b.stride);
  for (const level of result) {
    for (const role of roles) {
      if (!level.tensors[role]) throw new Error(`detector output for ${role} at stride ${level.stride} is missing`);
    }
  }
  return result;
}

/** Anchors per grid location, from the level's candidate count and the blob size. */
export function anchorsPerLocation(level: LevelOutputs, blobWidth: number, blobHeight: number): { cols: number; anchors: number } {
  const cols = Math.ceil(blobWidth / level.stride);
  const rows = Math.ceil(blobHeight / level.stride);
  const anchors = level.count / (cols * rows);
  if (!Number.isInteger(anchors) || anchors < 1) {
    throw new Error(`stride ${level.stride}: ${level.count} candidates do not fit a ${cols}x${rows} grid`);
  }
  return { cols, anchors };
}
