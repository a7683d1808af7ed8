/**
 * The onnxruntime settings a session is opened with, as a small value that can be measured,
 * cached and logged. Why these knobs (issue #12's profile, BENCHMARKS.md "Face engine"):
 * - Graph optimisation `all` includes the NCHWc layout transformer, which makes the detectors
 *   (YuNet, SCRFD) ~2x faster on CPU but MobileFaceNet's 1x1 convolutions several times slower;
 *   `all` with only that transformer disabled keeps every other fusion. No global setting wins.
 * - Intra-op threads: a small model at batch 1 often runs as fast on one thread as on two, and
 *   the other core then decodes the next images.
 * - Spinning is off: between two inferences the engine decodes, letterboxes and aligns; spinning
 *   pool threads would burn the cores that work needs (and inflate CPU time for nothing).
 */
import type { InferenceSession } from "onnxruntime-node";

export interface SessionChoice {
  /** "all", or "all" without the NCHWc layout transformer; absent = onnxruntime's default ("all"). */
  optimization?: "all" | "all-without-nchwc";
  /** Intra-op threads; absent = onnxruntime's default (one per core). */
  threads?: number;
  /** Inputs per inference (dynamic-batch recognizers); 1 for fixed-batch models and detectors. */
  batch: number;
}

/** onnxruntime session options for a choice (CPU knobs are ignored by GPU providers). */
export function sessionOptionsOf(choice: SessionChoice): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = { graphOptimizationLevel: "all" };
  const session: Record<string, string> = {};
  const optimization: Record<string, string> = {};
  if (choice.threads !== undefined) {
    options.intraOpNumThreads = choice.threads;
    session["intra_op.allow_spinning"] = "0";
  }
  // onnxruntime's config key "optimization.disable_specified_optimizers" (session options config keys).
  if (choice.optimization === "all-without-nchwc") optimization.disable_specified_optimizers = "NchwcTransformer";
  if (Object.keys(session).length > 0 || Object.keys(optimization).length > 0) options.extra = { session, optimization };
  return options;
}

/** The model's input shape with its free dimensions taken from `probeShape` (or 1). */
export function resolvedInputShape(session: InferenceSession, probeShape: readonly number[] | undefined): number[] | undefined {
  const meta = session.inputMetadata[0];
  if (!meta || !meta.isTensor) return undefined;
  return meta.shape.map((d, i) => (typeof d === "number" && d > 0 ? d : (probeShape?.[i] ?? 1)));
}

/** Batch sizes a session may run at: its own when the model fixes the batch dimension. */
export function batchCandidatesOf(session: InferenceSession, allowed: readonly number[] | undefined): number[] {
  const declared = session.inputMetadata[0]?.isTensor ? session.inputMetadata[0].shape[0] : undefined;
  if (typeof declared === "number" && declared > 0) return [declared];
  return allowed && allowed.length > 0 ? [...allowed] : [1];
}

/** Short description for logs and BENCHMARKS.md, e.g. "all-without-nchwc, 2 threads, batch 8". */
export function describeChoice(choice: SessionChoice): string {
  const parts = [choice.optimization ?? "default options"];
  if (choice.threads !== undefined) parts.push(`${choice.threads} thread${choice.threads === 1 ? "" : "s"}`);
  parts.push(`batch ${choice.batch}`);
  return parts.join(", ");
}
