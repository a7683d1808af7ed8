/**
 * The embed stage: source rows -> sha256 -> cache lookup -> decode (worker threads) -> face engine
 * (locate: detect, choose, align, one image at a time; then embed the crops of a batch) -> durable
 * cache -> `embeddings.npy` + index. Decoding of the next rows runs in the pool while the engine
 * works, through a look-ahead window of at most two batches.
 *
 * Memory: a full image lives only from its decoding until its face is cut out (a 112x112 crop);
 * batches hold crops, not images. Decoded pixels in flight (decoding, waiting in the window) are
 * capped by a byte budget, not by a count of images: a row is admitted into decoding only when its
 * size, read from the image header, fits beside the pixels already in flight (one image is always
 * admitted, so an image larger than the whole budget still goes through, alone). So tiny images
 * decode far ahead, while 10^8-pixel ones go one at a time, and peak memory is the budget (or the
 * largest image) plus the models, whatever the batch size.
 *
 * Resume: every engine batch is stored in the cache before the next one starts (`EmbedCache`), and
 * outputs are written only at the end, from the results in row order, so a run killed at any moment
 * redoes at most one batch and a rerun writes the same bytes. (The batches after the resume point
 * are the same as an uninterrupted run's, since the stored ones are a prefix of them; an image
 * repeated within the look-ahead can shift that. Equal bytes also assume one image's result does
 * not depend on its batch-mates: true on CPU and for fixed-batch models; GPU kernels may differ in
 * the last bits.) Decode failures and unreadable rows
 * are reported (warning + index status `error`) and never stop the run.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { RgbImage } from "../common/image.ts";
import { collectGarbage } from "../common/collect-garbage.ts";
import { log } from "../common/logger.ts";
import { startProgress } from "../common/progress.ts";
import type { FaceResult, LocatedFace } from "../faces/index.ts";
import type { DecodeImageParams } from "../source/index.ts";
import { decodedByteSize, ImageDecodeError } from "../source/index.ts";
import type { ImageSource, SourceImage } from "../source/index.ts";
import { EmbedCache, type EmbedFingerprintParams, type EmbedRecord } from "./embed-cache.ts";
import { DecodePool } from "./decode-pool.ts";
import { defaultDecodeBudget } from "./default-decode-budget.ts";
import { writeEmbedOutputs, type EmbedRow } from "./embed-outputs.ts";

/** The part of `FaceEngine` this stage uses (tests pass a small fake). */
export interface EmbedEngine {
  readonly provider: string;
  readonly embeddingDim: number;
  /** Detects, chooses and aligns one image's face; the image may be dropped afterwards. */
  locate(image: RgbImage): Promise<LocatedFace>;
  /** Embeds located faces, one result per input, in order. */
  embed(located: readonly LocatedFace[]): Promise<FaceResult[]>;
}

export interface RunEmbedParams {
  /** Rows to embed, in source order. */
  source: ImageSource;
  /** Creates the engine; called only when some row is not cached (a fully cached rerun loads no model). */
  createEngine: () => Promise<EmbedEngine>;
  /** Root of embed caches (`<work dir>/cache/embed`). */
  cacheRoot: string;
  /** Model hashes and preprocessing parameters the cached results depend on. */
  fingerprint: EmbedFingerprintParams;
  /** Images per engine call (and per cache file). */
  batchSize: number;
  /** Rows without an embedding: `drop` from the .npy (release default) or `keep` as zero rows. */
  noFace: "drop" | "keep";
  /** Output `.npy` path. */
  embeddingsPath: string;
  /** Index path (`.parquet` or `.jsonl`). */
  indexPath?: string;
  /** Decode options (pixel limit, strictness). */
  decode?: DecodeImageParams;
  /** Decode worker threads (default `defaultDecodeWorkers()`; 0 = main thread, sharp still decodes off it). */
  decodeWorkers?: number;
  /**
   * Most bytes of decoded RGB pixels in flight (decoding, waiting, being located); default
   * `defaultDecodeBudget()`, 48 MiB per core and at least 96 MiB. One image is always admitted.
   */
  decodeBudgetBytes?: number;
  /** Folder for the aligned 112x112 crops as PNG (the engine must keep crops). */
  dumpCropsDir?: string;
  /** Embedding width to use when every row is cached and the engine is not created. */
  embeddingDim?: number;
}

export interface EmbedSummary {
  rows: number;
  ok: number;
  noFace: number;
  errors: number;
  /** Rows answered from the cache. */
  cached: number;
  /** Rows sent through the engine in this run. */
  computed: number;
  /** Rows written to the .npy. */
  embeddings: number;
  embeddingDim: number;
  /** Provider the engine used, or "cache" when no engine was needed. */
  provider: string;
  seconds: number;
  imagesPerSecond: number;
  embeddingsPath: string;
  indexPath?: string;
  /** Every bad row: file name and reason. */
  problems: { row: number; fileName: string; reason: string }[];
  /**
   * Most decoded bytes held at once (decoding, waiting, being located), by the images' header sizes:
   * at most the decode budget, or one image's size when a single image is larger.
   */
  peakDecodedBytes: number;
}

interface Prepared {
  image: Omit<SourceImage, "bytes">;
  imageSha256: string | null;
  cached?: EmbedRecord;
  decoded?: RgbImage;
  /** The face cut out of `decoded` (which is then dropped). */
  located?: LocatedFace;
  error?: string;
  /** Budget this row holds from admission until its face is located (its decoded size, from the header). */
  budgetBytes: number;
}

/** A row looked at (hash, cache, header) but not decoded yet. */
interface Inspected {
  prepared: Prepared;
  /** Encoded bytes, when the row still has to be decoded. */
  bytes?: Uint8Array;
  /** Size of the encoded bytes the source gave (counted against the look-ahead until decoded). */
  encodedSize: number;
}

/** File name of a dumped crop: row number first so a listing follows row order. */
export function cropFileName(row: number, fileName: string): string {
  const base = (fileName.split("/").pop() ?? "image").replace(/\.[^.]*$/, "").replace(/[^\w.-]+/g, "_");
  return `${String(row).padStart(6, "0")}-${base}.png`;
}

function recordOf(result: FaceResult): EmbedRecord {
  const face = result.face;
  return {
    status: result.status,
    facesFound: result.facesFound,
    score: face ? face.score : null,
    box: face ? [...face.box] : null,
    landmarks: face ? face.landmarks.map(([x, y]) => [x, y] as [number, number]) : null,
    embedding: result.status === "ok" && result.embedding ? Float32Array.from(result.embedding) : null,
  };
}

export async function runEmbed(params: RunEmbedParams): Promise<EmbedSummary> {
  const started = Date.now();
  const batchSize = Math.max(1, Math.floor(params.batchSize));
  const cache = await EmbedCache.open({ root: params.cacheRoot, fingerprint: params.fingerprint });
  if (cache.size > 0) log.info(`embed cache: ${cache.size} images already done (${cache.dir})`);
  if (params.dumpCropsDir) await mkdir(params.dumpCropsDir, { recursive: true });
  const pool = new DecodePool({ workers: params.decodeWorkers, options: params.decode });
  const progress = startProgress({ label: "embed", total: params.source.total, unit: "images" });

  const rows: EmbedRow[] = [];
  const problems: EmbedSummary["problems"] = [];
  let engine: EmbedEngine | undefined;
  let cachedCount = 0;
  let computed = 0;

  const cropWanted = (row: number, fileName: string) =>
    params.dumpCropsDir !== undefined && !existsSync(join(params.dumpCropsDir, cropFileName(row, fileName)));

  const inspect = async (source: SourceImage): Promise<Inspected> => {
    const { bytes, ...image } = source;
    const encodedSize = bytes?.byteLength ?? 0;
    if (!bytes) return { prepared: { image, imageSha256: null, error: source.problem ?? "no image bytes", budgetBytes: 0 }, encodedSize };
    const imageSha256 = createHash("sha256").update(bytes).digest("hex");
    const cached = cache.get(imageSha256);
    // A cached row is redone only when --dump-crops wants a crop that is not on disk yet.
    if (cached && !cropWanted(image.row, image.fileName)) return { prepared: { image, imageSha256, cached, budgetBytes: 0 }, encodedSize };
    return { prepared: { image, imageSha256, budgetBytes: await decodedByteSize(bytes, params.decode) }, bytes, encodedSize };
  };

  const decode = async (prepared: Prepared, bytes: Uint8Array): Promise<Prepared> => {
    try {
      prepared.decoded = await pool.decode(bytes, prepared.budgetBytes);
    } catch (error) {
      if (!(error instanceof ImageDecodeError)) throw error;
      prepared.error = error.reason;
    }
    return prepared;
  };

  const finish = (prepared: Prepared, record: EmbedRecord | undefined, error?: string) => {
    const { image, imageSha256 } = prepared;
    const status = error !== undefined ? "error" : (record?.status ?? "error");
    const reason = error ?? (status === "no_face" ? "no face found" : null);
    if (status !== "ok") {
      problems.push({ row: image.row, fileName: image.fileName, reason: reason ?? "unknown" });
      log.warn(`row ${image.row} (${image.fileName}): ${reason}`);
    }
    rows.push({
      row: image.row,
      fileName: image.fileName,
      imageSha256,
      status,
      reason,
      facesFound: record?.facesFound ?? 0,
      score: record?.score ?? null,
      box: record?.box ?? null,
      landmarks: record?.landmarks ?? null,
      embedding: record?.embedding ?? null,
    });
    progress.tick();
  };

  /** Cuts the face out of a decoded image and lets the image go (its budget admits the next ones). */
  const locate = async (prepared: Prepared) => {
    engine ??= await params.createEngine();
    prepared.located = await engine.locate(prepared.decoded!);
    prepared.decoded = undefined;
    uncollectedBytes += prepared.budgetBytes;
    release(prepared);
  };

  const runBatch = async (batch: Prepared[]) => {
    if (batch.length === 0) return;
    engine ??= await params.createEngine();
    const results = await engine.embed(batch.map((p) => p.located!));
    for (const p of batch) p.located = undefined;
    if (results.length !== batch.length) throw new Error(`face engine returned ${results.length} results for ${batch.length} images`);
    const records = results.map(recordOf);
    await cache.putBatch(batch.map((p, i) => ({ imageSha256: p.imageSha256!, record: records[i]! })));
    if (params.dumpCropsDir) {
      await Promise.all(
        results.map(async (result, i) => {
          const crop = result.crop;
          const { row, fileName } = batch[i]!.image;
          if (!crop) return;
          const raw = { width: crop.width, height: crop.height, channels: 3 as const };
          await sharp(crop.data, { raw }).png().toFile(join(params.dumpCropsDir!, cropFileName(row, fileName)));
        }),
      );
    }
    computed += batch.length;
    batch.forEach((p, i) => finish(p, records[i]));
  };

  // Rows finish out of order only inside a batch; `rows` is sorted by row at the end anyway.
  // Rows flow source -> `inspecting` (hash, cache, header: started ahead, concurrently) -> admitted
  // in row order against the budget -> `window` (decoding) -> batch. Admission happens only here,
  // in the loop, so batch boundaries depend on the images alone, never on timing.
  const lookahead = batchSize * 2;
  const budget = Math.max(1, params.decodeBudgetBytes ?? defaultDecodeBudget());
  const iterator = params.source.images()[Symbol.asyncIterator]();
  const inspecting: Promise<Inspected>[] = [];
  const window: Promise<Prepared>[] = [];
  let inFlightBytes = 0;
  let peakDecodedBytes = 0;
  // Pixels of located images that the garbage collector may not have freed yet (sharp's buffers
  // are external memory, which V8 frees late). When they and the next image would not fit the
  // budget together, a collection runs first (common/collect-garbage.ts): memory stays at the
  // budget, and small images never pay for a collection.
  let uncollectedBytes = 0;
  // Encoded bytes read ahead and not decoded yet: phone JPEGs are 3-10 MB each, so the look-ahead
  // is bounded by the same budget, not only by its row count.
  let encodedBytes = 0;
  let exhausted = false;
  const release = (prepared: Prepared) => {
    inFlightBytes -= prepared.budgetBytes;
    prepared.budgetBytes = 0;
  };
  // A promise read later must not count as an unhandled rejection (which would end the process)
  // in the meantime: only a broken pool or a failing source rejects, and the loop sees it in turn.
  const quiet = <T>(promise: Promise<T>) => (promise.catch(() => {}), promise);
  /** Tops up the look-ahead; returns with the next row still inspecting when its pixels do not fit yet. */
  const fill = async () => {
    for (;;) {
      while (!exhausted && inspecting.length + window.length < lookahead && (inspecting.length === 0 || encodedBytes < budget)) {
        const next = await iterator.next();
        if (next.done) exhausted = true;
        else {
          encodedBytes += next.value.bytes?.byteLength ?? 0;
          inspecting.push(quiet(inspect(next.value)));
        }
      }
      if (inspecting.length === 0) return;
      const { prepared, bytes, encodedSize } = await inspecting[0]!;
      if (bytes) {
        if (inFlightBytes > 0 && inFlightBytes + prepared.budgetBytes > budget) return;
        if (uncollectedBytes > 0 && uncollectedBytes + inFlightBytes + prepared.budgetBytes > budget) {
          collectGarbage();
          uncollectedBytes = 0;
        }
        inFlightBytes += prepared.budgetBytes;
        peakDecodedBytes = Math.max(peakDecodedBytes, inFlightBytes);
        const decoding = decode(prepared, bytes);
        void decoding.finally(() => (encodedBytes -= encodedSize)).catch(() => {});
        window.push(quiet(decoding));
      } else {
        encodedBytes -= encodedSize;
        window.push(Promise.resolve(prepared));
      }
      inspecting.shift();
    }
  };

  try {
    let batch: Prepared[] = [];
    await fill();
    while (window.length > 0 || inspecting.length > 0) {
      // Only rows in the window hold pixels, so with the window empty the next row always fits.
      if (window.length === 0) throw new Error("embed: decode budget accounting is off (nothing in flight, yet nothing admitted)");
      const prepared = await window.shift()!;
      if (prepared.error !== undefined) {
        // A row that failed to decode holds no pixels: free its share before admitting more.
        release(prepared);
        await fill();
        finish(prepared, undefined, prepared.error);
      } else if (prepared.cached) {
        await fill();
        cachedCount++;
        finish(prepared, prepared.cached);
      } else {
        // Decodes of the next rows start before the engine blocks this thread on the detector.
        await fill();
        await locate(prepared);
        await fill();
        batch.push(prepared);
        if (batch.length >= batchSize) {
          await runBatch(batch);
          batch = [];
        }
      }
    }
    await runBatch(batch);
  } finally {
    progress.stop();
    await pool.close();
    // A run that stops early lets the source release what it holds (a Parquet reader thread).
    await iterator.return?.().catch(() => {});
  }

  rows.sort((a, b) => a.row - b.row);
  // With no embedding anywhere (every row bad, or an empty source) the width still has to be right.
  let dim = engine?.embeddingDim ?? rows.find((r) => r.embedding)?.embedding?.length ?? params.embeddingDim;
  if (dim === undefined) {
    engine = await params.createEngine();
    dim = engine.embeddingDim;
  }
  await writeEmbedOutputs({ rows, dim, noFace: params.noFace, embeddingsPath: params.embeddingsPath, indexPath: params.indexPath });

  const seconds = (Date.now() - started) / 1000;
  const count = (status: EmbedRow["status"]) => rows.filter((r) => r.status === status).length;
  const ok = count("ok");
  return {
    rows: rows.length,
    ok,
    noFace: count("no_face"),
    errors: count("error"),
    cached: cachedCount,
    computed,
    embeddings: params.noFace === "keep" ? rows.length : ok,
    embeddingDim: dim,
    provider: engine?.provider ?? "cache",
    seconds,
    imagesPerSecond: rows.length / Math.max(seconds, 1e-3),
    embeddingsPath: params.embeddingsPath,
    indexPath: params.indexPath,
    problems,
    peakDecodedBytes,
  };
}
