/**
 * A full garbage collection, now. Decoded images are external buffers (sharp's pixels, up to
 * 300 MB each); V8 frees them at its next collection, which its heuristics put off while the JS
 * heap itself is small, so a second large image is decoded while the first still occupies memory.
 * Collecting right after a large image is dropped costs a few milliseconds (the heap holds little)
 * and measured ~55 MB less peak RSS on photos of 12-24 megapixels (BENCHMARKS.md, "Face engine").
 * `gc` is exposed at run time, as `--expose-gc` would, so the CLI needs no node flag.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined | null = null;

export function collectGarbage(): void {
  if (gc === null) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = undefined;
    }
  }
  gc?.();
}
