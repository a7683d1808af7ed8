/**
 * Content-addressed cache of per-image face results, so a rerun (or a run killed with SIGKILL at
 * any moment) redoes at most the batch that was in flight and ends with byte-identical outputs.
 *
 * Key of an image: sha256(image bytes sha256 + fingerprint), the fingerprint being the sha256 of
 * the detector file's sha256, the recognizer file's sha256 and every preprocessing parameter that
 * changes a result (detector kind, input size, thresholds, normalisation, dtype). Change any of them
 * and nothing matches, so stale results are never reused.
 *
 * Storage: one small file per engine batch, `<dir>/<fingerprint[0:16]>/batch-<sha256 of content>.json`,
 * written to a temporary name, fsync'd, renamed, and the folder fsync'd. A file is therefore either
 * complete or absent; one whose content does not hash to its name (disk damage) is ignored with a
 * warning. Embeddings are stored as base64 of their float32 bytes, so they round-trip bit for bit.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { log } from "../common/logger.ts";
import { canonicalJson } from "../common/canonical-json.ts";
import { writeFileAtomic } from "../common/write-file-atomic.ts";

const FORMAT = "idclusters-embed-cache/1";

/** What identifies "the same computation" apart from the image. */
export interface EmbedFingerprintParams {
  /** SHA-256 of the detector ONNX file. */
  detectorSha256: string;
  /** SHA-256 of the recognizer ONNX file. */
  recognizerSha256: string;
  /** Every preprocessing parameter that can change a result (JSON-serialisable). */
  preprocessing: Record<string, unknown>;
}

/** The cached outcome of one image (decode failures are not cached: they are cheap to redo). */
export interface EmbedRecord {
  status: "ok" | "no_face";
  /** Faces the detector found before the choice rule. */
  facesFound: number;
  /** Detector score of the chosen face. */
  score: number | null;
  /** x1, y1, x2, y2 of the chosen face in image pixels. */
  box: [number, number, number, number] | null;
  /** The 5 landmarks of the chosen face. */
  landmarks: [number, number][] | null;
  /** L2-normalised embedding; null for no_face. */
  embedding: Float32Array | null;
}

interface StoredRecord extends Omit<EmbedRecord, "embedding"> {
  key: string;
  embedding: string | null;
}

function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

export function embedFingerprint(params: EmbedFingerprintParams): string {
  return sha256(canonicalJson({ format: FORMAT, ...params }));
}

function encodeEmbedding(embedding: Float32Array | null): string | null {
  if (!embedding) return null;
  return Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength).toString("base64");
}

function decodeEmbedding(text: string | null): Float32Array | null {
  if (text === null) return null;
  const bytes = Buffer.from(text, "base64");
  // Copy into an aligned buffer: Buffer.from may return a pooled, unaligned slice.
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Durable batch write: a crash loses at most the batch being written, never one reported done. */
function writeFileDurably(dir: string, name: string, content: string): Promise<void> {
  return writeFileAtomic(join(dir, name), content, { temporaryName: `.tmp-${process.pid}-${name}`, syncFolder: true });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface OpenEmbedCacheParams {
  /** Root folder of embed caches (e.g. `<work dir>/cache/embed`). */
  root: string;
  /** What the cached results depend on besides the image. */
  fingerprint: EmbedFingerprintParams;
}

export class EmbedCache {
  private constructor(
    /** Folder holding this fingerprint's batch files. */
    readonly dir: string,
    readonly fingerprint: string,
    private readonly records: Map<string, EmbedRecord>,
    /** Number of batch files loaded at open. */
    readonly batchFiles: number,
  ) {}

  /** Loads every complete batch file of this fingerprint. */
  static async open(params: OpenEmbedCacheParams): Promise<EmbedCache> {
    const fingerprint = embedFingerprint(params.fingerprint);
    const dir = join(params.root, fingerprint.slice(0, 16));
    await mkdir(dir, { recursive: true });
    const records = new Map<string, EmbedRecord>();
    let batchFiles = 0;
    for (const name of (await readdir(dir)).sort()) {
      if (name.startsWith(".tmp-")) {
        // Left by a killed run; remove it unless its writer is still alive.
        const pid = Number(name.split("-")[1]);
        if (!processIsAlive(pid)) await rm(join(dir, name), { force: true });
        continue;
      }
      const match = /^batch-([0-9a-f]{64})\.json$/.exec(name);
      if (!match) continue;
      const content = await readFile(join(dir, name));
      if (sha256(content) !== match[1]) {
        log.warn(`embed cache file ${join(dir, name)} is damaged (content does not match its name); ignoring it`);
        continue;
      }
      const parsed = JSON.parse(content.toString("utf8")) as { format: string; fingerprint: string; records: StoredRecord[] };
      if (parsed.format !== FORMAT || parsed.fingerprint !== fingerprint) continue;
      for (const { key, embedding, ...rest } of parsed.records) records.set(key, { ...rest, embedding: decodeEmbedding(embedding) });
      batchFiles++;
    }
    const cache = new EmbedCache(dir, fingerprint, records, batchFiles);
    await writeFileDurably(dir, "fingerprint.json", JSON.stringify({ format: FORMAT, fingerprint, ...params.fingerprint }, null, 2) + "\n");
    return cache;
  }

  /** Number of cached images. */
  get size(): number {
    return this.records.size;
  }

  /** The cache key of an image given the sha256 of its bytes. */
  keyOf(imageSha256: string): string {
    return sha256(`${imageSha256}\n${this.fingerprint}`);
  }

  get(imageSha256: string): EmbedRecord | undefined {
    return this.records.get(this.keyOf(imageSha256));
  }

  /** Stores one batch durably (see the file comment); after it resolves, a SIGKILL cannot lose it. */
  async putBatch(entries: { imageSha256: string; record: EmbedRecord }[]): Promise<void> {
    if (entries.length === 0) return;
    const stored: StoredRecord[] = entries.map(({ imageSha256, record }) => ({
      key: this.keyOf(imageSha256),
      status: record.status,
      facesFound: record.facesFound,
      score: record.score,
      box: record.box,
      landmarks: record.landmarks,
      embedding: encodeEmbedding(record.embedding),
    }));
    const content = JSON.stringify({ format: FORMAT, fingerprint: this.fingerprint, records: stored });
    await writeFileDurably(this.dir, `batch-${sha256(content)}.json`, content);
    for (const { imageSha256, record } of entries) this.records.set(this.keyOf(imageSha256), record);
  }
}
