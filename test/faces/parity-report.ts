/**
 * Row-by-row parity between `idclusters embed` and the Python reference (scripts/reference-embed.py)
 * on the same image folder, used by `npm run bench:embed` and test/faces/embedding-parity.test.ts.
 *
 * Both sides write an `.npy` of the rows that have a face plus a JSON-lines index with one line per
 * image in `imagefolder` order (`file_name`, `status`, `box`, `landmarks`, `score`, `faces_found`,
 * `embedding_row`); the reference adds every detection after NMS and the decoded size, which is what
 * lets a differing row be explained (a near-tied choice between two faces, a shifted landmark, ...).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpy } from "../../src/common/npy.ts";

export const PYTHON = "/usr/bin/python3";
export const REFERENCE_SCRIPT = fileURLToPath(new URL("../../scripts/reference-embed.py", import.meta.url));
export const CLI = fileURLToPath(new URL("../../bin/idclusters.js", import.meta.url));

export type Box = [number, number, number, number];

export interface EmbedIndexRow {
  file: string;
  status: "ok" | "no_face" | "error";
  score: number | null;
  box: Box | null;
  landmarks: [number, number][] | null;
  facesFound: number;
  embedding: Float32Array | null;
  /** Reference only: every detection after NMS, [x1, y1, x2, y2, score]. */
  detections?: number[][];
  /** Reference only: decoded size. */
  width?: number;
  height?: number;
}

/** Settings both sides run with. */
export interface EmbedSettings {
  detector: "yunet" | "scrfd";
  detectorModel: string;
  recognizer: string;
  detSize: number;
  detThresh: number;
  nmsThresh?: number;
  recMean: number;
  recStd: number;
  /** idclusters only (the reference runs on the CPU); default cpu. */
  device?: "cpu" | "auto" | "cuda" | "webgpu";
}

/** The flags both programs share, with the same names and meaning. */
function sharedArgs(s: EmbedSettings, images: string): string[] {
  return [
    "--images", images,
    "--detector", `${s.detector}=${s.detectorModel}`,
    "--recognizer", s.recognizer,
    "--det-size", String(s.detSize),
    "--det-thresh", String(s.detThresh),
    "--nms-thresh", String(s.nmsThresh ?? 0.4),
    "--rec-mean", String(s.recMean),
    "--rec-std", String(s.recStd),
  ];
}

/** `idclusters embed` arguments for these settings (the ad hoc form, CPU). */
export function cliArgs(s: EmbedSettings, images: string, outDir: string): string[] {
  return ["embed", ...sharedArgs(s, images), "--device", s.device ?? "cpu", "--out", join(outDir, "embeddings.npy"), "--index-out", join(outDir, "index.jsonl")];
}

/** scripts/reference-embed.py arguments for the same settings. */
export function referenceArgs(s: EmbedSettings, images: string, outDir: string): string[] {
  return [REFERENCE_SCRIPT, ...sharedArgs(s, images), "--out", outDir];
}

/** Runs a command to completion; rejects with its stderr's tail on a non-zero exit. */
export function runProcess(command: string, args: string[], options: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code === 0) resolve({ stdout, stderr, seconds });
      else reject(new Error(`${command} ${args.slice(0, 2).join(" ")} ... exited ${code ?? signal}: ${stderr.trim().split("\n").slice(-5).join("\n")}`));
    });
  });
}

interface IndexLine {
  file_name: string;
  status: "ok" | "no_face" | "error";
  score?: number | null;
  box?: Box | null;
  landmarks?: [number, number][] | null;
  faces_found?: number;
  embedding_row?: number | null;
  detections?: number[][];
  width?: number;
  height?: number;
}

/** Reads an `.npy` + JSON-lines index pair (either side's format) into one row per image. */
export function readEmbedOutputs(npyPath: string, indexPath: string): EmbedIndexRow[] {
  const npy = readNpy(npyPath);
  if (npy.dtype !== "float32" || npy.shape.length !== 2) throw new Error(`${npyPath}: expected float32 [n, d], got ${npy.dtype} ${JSON.stringify(npy.shape)}`);
  const dim = npy.shape[1]!;
  const data = npy.data as Float32Array;
  const lines = readFileSync(indexPath, "utf8").split("\n").filter((l) => l.trim() !== "");
  return lines.map((line) => {
    const r = JSON.parse(line) as IndexLine;
    const at = r.embedding_row;
    return {
      file: r.file_name,
      status: r.status,
      score: r.score ?? null,
      box: r.box ?? null,
      landmarks: r.landmarks ?? null,
      facesFound: r.faces_found ?? 0,
      embedding: at === null || at === undefined ? null : data.subarray(at * dim, (at + 1) * dim),
      ...(r.detections ? { detections: r.detections } : {}),
      ...(r.width ? { width: r.width, height: r.height } : {}),
    };
  });
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union > 0 ? inter / union : 0;
}

/** The release's face choice score (src/faces/choose-face.ts), recomputed for explanations. */
function choiceScore(box: ArrayLike<number>, width: number, height: number): number {
  const area = (box[2]! - box[0]!) * (box[3]! - box[1]!);
  const offset = Math.hypot((box[0]! + box[2]!) / 2 - width / 2, (box[1]! + box[3]!) / 2 - height / 2) / Math.hypot(width, height);
  return area * (1 - offset) ** 2;
}

export type DiffClass =
  /** Two faces score within 10 % under the choice rule; detection noise flips the choice. */
  | "near-tied choice"
  /** A detection one side has and the other lacks (a score near the threshold) changes the choice. */
  | "detection near threshold"
  | "different face chosen"
  | "found by one side only"
  /** A face with eyes < 20 px apart: one grey level of resize rounding moves its landmarks far. */
  | "small face"
  /** Same face, a landmark moved > 5 % of the eye distance. */
  | "landmark shift"
  /** Same face, landmarks within 1-5 % of the eye distance: the aligned crops differ slightly. */
  | "landmark jitter"
  /** A non-sRGB ICC profile: sharp converts to sRGB, cv2.imread ignores profiles. */
  | "colour profile"
  /** Same face, landmarks within 1 %: resize/warp rounding, ONNX Runtime vs OpenCV DNN arithmetic. */
  | "numeric noise";

export interface ParityRow {
  file: string;
  /** null when one side has no face. */
  cosine: number | null;
  /** IoU of the chosen boxes; null when one side has no face. */
  iou: number | null;
  ours: "ok" | "no_face" | "error";
  reference: "ok" | "no_face" | "error";
  class: DiffClass;
  detail: string;
}

export interface ParityReport {
  images: number;
  /** Images where both sides embedded a face. */
  both: number;
  /** Images neither side found a face in. */
  neither: number;
  oursOnly: number;
  referenceOnly: number;
  /** Fractions of `both`. */
  atLeast099: number;
  atLeast095: number;
  medianCosine: number;
  minCosine: number;
  /** Same face (box IoU >= 0.5) among images where at least one side found a face. */
  sameFace: number;
  sameFaceOf: number;
  /** Every row, worst first (one-sided rows first, then by cosine). */
  rows: ParityRow[];
  /** Rows per class among rows below 0.99 or one-sided. */
  classes: Partial<Record<DiffClass, number>>;
}

export interface ParityContext {
  /** Per file: a Display P3 (or other non-sRGB) ICC profile, which sharp honours and cv2.imread ignores. */
  icc?: (file: string) => boolean;
  detThresh?: number;
}

function explain(o: EmbedIndexRow, r: EmbedIndexRow, cos: number | null, overlap: number | null, ctx: ParityContext): { class: DiffClass; detail: string } {
  if (o.status !== "ok" || r.status !== "ok") {
    const found = o.status === "ok" ? o : r;
    const who = o.status === "ok" ? "idclusters" : "the reference";
    const margin = ctx.detThresh !== undefined && found.score !== null ? ` (threshold ${ctx.detThresh})` : "";
    return { class: "found by one side only", detail: `only ${who} found a face, score ${found.score?.toFixed(3) ?? "?"}${margin}` };
  }
  const ob = o.box!;
  const rb = r.box!;
  if (overlap! < 0.5) {
    const width = r.width ?? 0;
    const height = r.height ?? 0;
    const match = (r.detections ?? []).find((d) => iou(d, ob) >= 0.5);
    if (match && width > 0) {
      const theirs = choiceScore(rb, width, height);
      const ourFace = choiceScore(match, width, height);
      const gap = Math.abs(theirs - ourFace) / Math.max(theirs, ourFace);
      const cls: DiffClass = gap < 0.1 ? "near-tied choice" : "different face chosen";
      return { class: cls, detail: `${r.facesFound} faces; choice scores ${(gap * 100).toFixed(1)} % apart (area x centre weight), boxes IoU ${overlap!.toFixed(2)}` };
    }
    const near = ctx.detThresh !== undefined && o.score !== null && o.score < ctx.detThresh + 0.1;
    return {
      class: o.facesFound !== r.facesFound && near ? "detection near threshold" : "different face chosen",
      detail: `idclusters found ${o.facesFound} faces, the reference ${r.facesFound}; idclusters' choice (score ${o.score?.toFixed(3) ?? "?"}) is not among the reference's detections; boxes IoU ${overlap!.toFixed(2)}`,
    };
  }
  const eye = r.landmarks ? Math.hypot(r.landmarks[1]![0] - r.landmarks[0]![0], r.landmarks[1]![1] - r.landmarks[0]![1]) : 0;
  let shift = 0;
  if (o.landmarks && r.landmarks && eye > 0) {
    for (let k = 0; k < 5; k++) shift = Math.max(shift, Math.hypot(o.landmarks[k]![0] - r.landmarks[k]![0], o.landmarks[k]![1] - r.landmarks[k]![1]) / eye);
  }
  const sizes = `eye distance ${eye.toFixed(0)} px, largest landmark shift ${(shift * 100).toFixed(1)} % of it`;
  if (ctx.icc?.(o.file)) return { class: "colour profile", detail: `non-sRGB ICC profile: sharp converts to sRGB, cv2.imread ignores it; ${sizes}` };
  // Small faces: the 112 px crop is an upscale of a few dozen pixels, so 1-level rounding in the
  // letterbox moves the landmarks (and the crop) by a large fraction of the face.
  if (eye < 20) return { class: "small face", detail: sizes };
  if (shift > 0.05) return { class: "landmark shift", detail: sizes };
  if (shift > 0.01) return { class: "landmark jitter", detail: sizes };
  return { class: "numeric noise", detail: sizes + (cos !== null ? `; cosine ${cos.toFixed(4)}` : "") };
}

/** Compares both sides row by row (same files in the same order). */
export function compareParity(ours: EmbedIndexRow[], reference: EmbedIndexRow[], ctx: ParityContext = {}): ParityReport {
  if (ours.length !== reference.length) throw new Error(`idclusters has ${ours.length} rows, the reference ${reference.length}`);
  const rows: ParityRow[] = [];
  let neither = 0;
  let oursOnly = 0;
  let referenceOnly = 0;
  let sameFace = 0;
  let sameFaceOf = 0;
  const cosines: number[] = [];
  ours.forEach((o, i) => {
    const r = reference[i]!;
    if (o.file !== r.file) throw new Error(`row ${i}: idclusters has ${o.file}, the reference ${r.file}`);
    const oOk = o.status === "ok" && o.embedding !== null;
    const rOk = r.status === "ok" && r.embedding !== null;
    if (!oOk && !rOk) {
      neither++;
      return;
    }
    sameFaceOf++;
    const cos = oOk && rOk ? cosine(o.embedding!, r.embedding!) : null;
    const overlap = oOk && rOk ? iou(o.box!, r.box!) : null;
    if (cos !== null) cosines.push(cos);
    if (overlap !== null && overlap >= 0.5) sameFace++;
    if (oOk && !rOk) oursOnly++;
    if (rOk && !oOk) referenceOnly++;
    rows.push({ file: o.file, cosine: cos, iou: overlap, ours: o.status, reference: r.status, ...explain(o, r, cos, overlap, ctx) });
  });
  rows.sort((a, b) => (a.cosine ?? -2) - (b.cosine ?? -2));
  const sorted = [...cosines].sort((a, b) => a - b);
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const classes: Partial<Record<DiffClass, number>> = {};
  for (const row of rows) if (row.cosine === null || row.cosine < 0.99) classes[row.class] = (classes[row.class] ?? 0) + 1;
  return {
    images: ours.length,
    both: cosines.length,
    neither,
    oursOnly,
    referenceOnly,
    atLeast099: cosines.filter((c) => c >= 0.99).length / Math.max(1, cosines.length),
    atLeast095: cosines.filter((c) => c >= 0.95).length / Math.max(1, cosines.length),
    medianCosine: median,
    minCosine: sorted[0] ?? NaN,
    sameFace,
    sameFaceOf,
    rows,
    classes,
  };
}

/** A few lines for a terminal or a test diagnostic. */
export function formatParity(report: ParityReport, worst = 10): string[] {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const lines = [
    `rows where both found a face: ${report.both} of ${report.images} images (neither: ${report.neither}; idclusters only: ${report.oursOnly}; reference only: ${report.referenceOnly})`,
    `cosine >= 0.99: ${pct(report.atLeast099)} (goal >= 98 %), >= 0.95: ${pct(report.atLeast095)} (goal >= 99 %); median ${report.medianCosine.toFixed(5)}, min ${report.minCosine.toFixed(4)}`,
    `same face chosen (box IoU >= 0.5): ${report.sameFace} of ${report.sameFaceOf} (${pct(report.sameFace / Math.max(1, report.sameFaceOf))})`,
  ];
  const classes = Object.entries(report.classes).map(([k, v]) => `${v} ${k}`);
  if (classes.length > 0) lines.push(`rows below 0.99 or one-sided, by kind: ${classes.join(", ")}`);
  const shown = report.rows.filter((r) => r.cosine === null || r.cosine < 0.999).slice(0, worst);
  if (shown.length > 0) {
    lines.push(`worst rows:`);
    for (const r of shown) {
      lines.push(`  ${r.cosine === null ? "   -   " : r.cosine.toFixed(4).padStart(7)}  ${r.file.padEnd(22)} ${r.class}: ${r.detail}`);
    }
  }
  return lines;
}
