/**
 * The default byte budget for decoded pixels in flight in the embed stage (see `runEmbed`'s
 * `decodeBudgetBytes`).
 */
import { constrainedMemory } from "node:process";
import { availableParallelism, totalmem } from "node:os";

const MiB = 2 ** 20;

export interface DefaultDecodeBudgetParams {
  /** Memory the process may use; default the cgroup limit when there is one, else the machine's RAM. */
  memoryBytes?: number;
  /** Cores that decode in parallel; default `availableParallelism()`. */
  cores?: number;
}

/**
 * 48 MiB per core, at least 96 MiB, at most 1/16 of the memory. The budget only bounds the
 * look-ahead: the engine keeps an image just until its face is cut out, so batches hold crops,
 * not pixels. 96 MiB lets a 2-core machine decode hundreds of small images ahead, or the next
 * 12-megapixel phone photo while the current one is in the detector, while a 24-megapixel one
 * goes alone: peak memory stays at the models plus about one large photo, below the OpenCV
 * reference on real photos (BENCHMARKS.md, "Face engine on real photos"); more cores decode more
 * photos side by side.
 */
export function defaultDecodeBudget(params: DefaultDecodeBudgetParams = {}): number {
  // constrainedMemory() is 0 (or 2^64 on some libuv versions) when there is no limit.
  const limit = constrainedMemory?.() ?? 0;
  const memory = params.memoryBytes ?? (limit > 0 && limit < totalmem() ? limit : totalmem());
  const cores = params.cores ?? availableParallelism();
  return Math.max(MiB, Math.min(Math.floor(memory / 16), Math.max(96 * MiB, 48 * MiB * cores)));
}
