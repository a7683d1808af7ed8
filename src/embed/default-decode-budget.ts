/**
 * The default byte budget for decoded pixels in flight in the embed stage (see `runEmbed`'s
 * `decodeBudgetBytes`).
 */
import { constrainedMemory } from "node:process";
import { totalmem } from "node:os";

const MiB = 2 ** 20;

export interface DefaultDecodeBudgetParams {
  /** Memory the process may use; default the cgroup limit when there is one, else the machine's RAM. */
  memoryBytes?: number;
}

/**
 * 1/16 of the memory, between 64 MiB and 512 MiB. 512 MiB holds a batch of 32 images of 2,300 x 2,300
 * px (ample for face datasets, typically 0.25-1 Mpx), and with the models, the runtime and one
 * decode in progress keeps a run on 10^8-pixel images under 1.5 GiB. The floor keeps small
 * machines from decoding one image at a time when images are ordinary.
 */
export function defaultDecodeBudget(params: DefaultDecodeBudgetParams = {}): number {
  // constrainedMemory() is 0 (or 2^64 on some libuv versions) when there is no limit.
  const limit = constrainedMemory?.() ?? 0;
  const memory = params.memoryBytes ?? (limit > 0 && limit < totalmem() ? limit : totalmem());
  return Math.min(512 * MiB, Math.max(64 * MiB, Math.floor(memory / 16)));
}
