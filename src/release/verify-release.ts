/**
 * Re-reads a release folder with a second, independent Parquet reader (DuckDB, not parquet-wasm)
 * and checks it against ../shared/docs/hf-parquet-and-card.md: shard names and contiguous row
 * counts, column types, the `huggingface` features in `ARROW:schema` and as a key/value entry,
 * compression and row-group sizes, the page index (offsets checked against the page headers, with
 * our own footer reader since DuckDB does not use it), every row's `cluster_id` / `cluster_size`
 * (label-counts.ts: ids >= 0 with `cluster_size` = rows sharing the id, -1 noise with size 1, null
 * no face with size null; problems name the shard and row) and the counts recounted from them, the
 * card's `dataset_info` (and, given the card inputs, every generated number) against the data,
 * `card-inputs.json` against the data (check-card-inputs.ts), and that no file of the release
 * names a folder of the machine that built it (check-local-paths.ts).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../common/errors.ts";
import { CARD_INPUTS_FILE, checkCardInputs } from "./check-card-inputs.ts";
import { checkLabels, type LabelRow, RowProblems } from "./check-labels.ts";
import { buildMachinePaths, checkTextFilesForLocalPaths, findLocalPath } from "./check-local-paths.ts";
import { checkPageIndex } from "./check-page-index.ts";
import type { HfFeature, ReleaseDataInfo, ReleaseShard } from "./release-data-info.ts";
import { openDuckDb, sqlString } from "./open-duckdb.ts";

export interface VerifyReleaseParams {
  /** Release folder (`data/`, `README.md`). */
  folder: string;
  /** Most rows a row group may hold (100 for image data). */
  maxRowGroupRows?: number;
  /** Check README.md too (default true); false verifies the shards alone. */
  card?: boolean;
  /**
   * Checks the card's generated text against the data (the card stage's `checkCard`, given inputs
   * whose `data` is what this verifier measured). Returns mismatches.
   */
  checkCard?: (cardText: string, data: ReleaseDataInfo) => Promise<string[]> | string[];
  /**
   * Folders of the build machine that no file of the release may name, besides the current
   * directory, the home directory, the temporary directory and the release folder (e.g. the
   * config's work dir and the config file's folder).
   */
  localPaths?: readonly string[];
}

export interface VerifyReleaseResult {
  /** Everything wrong, one line each; empty when the release is consistent. */
  problems: string[];
  /** What the data says, per split. */
  splits: ReleaseDataInfo[];
  /** Names of the checks that ran. */
  checks: string[];
}

const quote = sqlString;
const SHARD_NAME = /^(\w+(?:\.\w+)*)-(\d{5})-of-(\d{5})\.parquet$/;

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return String(value);
}

/** The `huggingface` value inside the base64 `ARROW:schema` entry (an Arrow IPC schema message). */
export function huggingfaceInArrowSchema(base64: string): string | undefined {
  const message = Buffer.from(base64, "base64");
  // An IPC stream is the schema message followed by an end-of-stream marker.
  const stream = Buffer.concat([message, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]);
  return tableFromIPC(stream).schema.metadata.get("huggingface");
}

/** The card's statistics line (dataset-card/blocks/labels.md.jinja), numbers as formatInteger writes them. */
const STATED_COUNTS =
  /\*\*([\d,]+) images: ([\d,]+) in ([\d,]+) identities, ([\d,]+) noise images \(`cluster_id` -1\), ([\d,]+) images without a detected face \(`cluster_id` null\)\*\*/;
const STATED_SUMMARY = /\*\*([\d,]+) identities over ([\d,]+) images\*\*/;

/**
 * The counts a card states in its generated statistics (even without the config and card inputs
 * `checkCard` needs) against the shards': they must be the shards' and add up to the row count.
 */
function checkStatedCounts(card: string, labels: NonNullable<ReleaseDataInfo["labels"]>, rows: number): string[] {
  const problems: string[] = [];
  const number = (text: string) => Number(text.replaceAll(",", ""));
  const stated = STATED_COUNTS.exec(card);
  if (stated) {
    const [images, identityRows, identities, noise, noFace] = stated.slice(1).map(number) as [number, number, number, number, number];
    const compare: [string, number, number][] = [
      ["images", images, rows],
      ["images in identities", identityRows, labels.identityRows],
      ["identities", identities, labels.identities],
      ["noise images (cluster_id -1)", noise, labels.noiseRows],
      ["images without a detected face (cluster_id null)", noFace, labels.noFaceRows],
    ];
    for (const [what, card, data] of compare) if (card !== data) problems.push(`README.md: the card states ${card} ${what}, the shards hold ${data}`);
    if (identityRows + noise + noFace !== images) problems.push(`README.md: the card's counts do not add up: ${identityRows} + ${noise} + ${noFace} != ${images} images`);
  }
  const summary = STATED_SUMMARY.exec(card);
  if (summary && (number(summary[1]!) !== labels.identities || number(summary[2]!) !== rows)) {
    problems.push(`README.md: the card states ${summary[1]} identities over ${summary[2]} images, the shards hold ${labels.identities} over ${rows}`);
  }
  return problems;
}

function huggingfaceInArrowSchemaSafe(base64: string): string | undefined {
  try {
    return huggingfaceInArrowSchema(base64);
  } catch {
    return undefined;
  }
}

/** Expected DuckDB type of a feature. */
function duckType(feature: HfFeature): string {
  if (feature._type === "Image") return "STRUCT(bytes BLOB, path VARCHAR)";
  if (feature._type === "ClassLabel") return "BIGINT";
  return { string: "VARCHAR", int64: "BIGINT", int32: "INTEGER", float32: "FLOAT", float64: "DOUBLE", bool: "BOOLEAN" }[feature.dtype];
}

/** The card's feature entry for a `datasets` feature (dataset_info.features). */
function cardFeature(name: string, feature: HfFeature): unknown {
  if (feature._type === "Image") return { name, dtype: "image" };
  if (feature._type === "ClassLabel") {
    return { name, dtype: { class_label: { names: Object.fromEntries(feature.names.map((n, i) => [String(i), n])) } } };
  }
  return { name, dtype: feature.dtype };
}

export async function verifyRelease(params: VerifyReleaseParams): Promise<VerifyReleaseResult> {
  const problems: string[] = [];
  const checks: string[] = [];
  const maxRowGroupRows = params.maxRowGroupRows ?? 100;
  const dataDir = join(params.folder, "data");
  const names = (await readdir(dataDir).catch(() => {
    throw new UsageError(`${params.folder} has no data/ folder: not a release folder`);
  })).filter((n) => n.endsWith(".parquet")).sort();
  if (names.length === 0) throw new UsageError(`${dataDir} holds no Parquet shards`);

  const bySplit = new Map<string, { index: number; count: number; name: string }[]>();
  for (const name of names) {
    const match = SHARD_NAME.exec(name);
    if (!match) {
      problems.push(`data/${name}: name is not {split}-{i:05d}-of-{n:05d}.parquet`);
      continue;
    }
    const list = bySplit.get(match[1]!) ?? [];
    list.push({ index: Number(match[2]), count: Number(match[3]), name });
    bySplit.set(match[1]!, list);
  }
  checks.push("shard names");

  const localPaths = buildMachinePaths({ folder: params.folder, extra: params.localPaths });
  const db = await openDuckDb();
  const splits: ReleaseDataInfo[] = [];
  const labelRows = new Map<string, LabelRow[]>();
  try {
    for (const [split, shardNames] of bySplit) {
      const count = shardNames[0]!.count;
      if (shardNames.some((s) => s.count !== count) || shardNames.length !== count || shardNames.some((s, i) => s.index !== i)) {
        problems.push(`split ${split}: shards ${shardNames.map((s) => s.name).join(", ")} are not exactly 00000..${String(count - 1).padStart(5, "0")} of ${count}`);
      }
      const files = shardNames.map((s) => join(dataDir, s.name));
      let features: [string, HfFeature][] | undefined;
      const shards: ReleaseShard[] = [];
      const rows: LabelRow[] = [];
      const pathProblems = new RowProblems((n) => `split ${split}: ${n} more value(s) naming a local path`);
      for (const [i, file] of files.entries()) {
        const where = `data/${shardNames[i]!.name}`;
        const kv = new Map<string, string>();
        for (const row of await db.all(`select key, value from parquet_kv_metadata(${quote(file)})`)) kv.set(textOf(row.key), textOf(row.value));
        const hf = kv.get("huggingface");
        if (!hf) problems.push(`${where}: no "huggingface" key/value entry`);
        const arrowSchema = kv.get("ARROW:schema");
        if (!arrowSchema) problems.push(`${where}: no ARROW:schema entry`);
        else {
          const inSchema = huggingfaceInArrowSchema(arrowSchema);
          if (inSchema === undefined) problems.push(`${where}: ARROW:schema has no "huggingface" metadata (pyarrow would ignore the features)`);
          else if (hf && JSON.stringify(JSON.parse(inSchema)) !== JSON.stringify(JSON.parse(hf))) {
            problems.push(`${where}: "huggingface" differs between ARROW:schema and the key/value entry`);
          }
        }
        let fileFeatures: [string, HfFeature][] = [];
        try {
          fileFeatures = Object.entries((JSON.parse(hf ?? "{}") as { info?: { features?: Record<string, HfFeature> } }).info?.features ?? {});
        } catch {
          problems.push(`${where}: "huggingface" metadata is not JSON`);
        }
        if (features === undefined) features = fileFeatures;
        else if (JSON.stringify(features) !== JSON.stringify(fileFeatures)) problems.push(`${where}: features differ from the first shard's`);

        const columns = await db.all(`describe select * from read_parquet(${quote(file)})`);
        const actual = columns.map((c) => `${textOf(c.column_name)} ${textOf(c.column_type)}`);
        const expected = fileFeatures.map(([name, feature]) => `${name} ${duckType(feature)}`);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          problems.push(`${where}: columns [${actual.join(", ")}] do not match the features [${expected.join(", ")}]`);
        }
        for (const leaf of await db.all(`select name, repetition_type from parquet_schema(${quote(file)}) where name <> 'arrow_schema' and name <> 'schema'`)) {
          if (leaf.repetition_type !== null && textOf(leaf.repetition_type) !== "OPTIONAL") {
            problems.push(`${where}: field ${textOf(leaf.name)} is ${textOf(leaf.repetition_type)}, every field must be nullable`);
          }
        }
        const chunks = await db.all(
          `select row_group_id, row_group_num_rows, path_in_schema, compression, encodings from parquet_metadata(${quote(file)})`,
        );
        for (const chunk of chunks) {
          const path = textOf(chunk.path_in_schema);
          const top = path.split(",")[0]!.trim();
          const image = fileFeatures.some(([name, f]) => f._type === "Image" && name === top);
          if (Number(chunk.row_group_num_rows) > maxRowGroupRows) {
            problems.push(`${where}: row group ${Number(chunk.row_group_id)} holds ${Number(chunk.row_group_num_rows)} rows (> ${maxRowGroupRows})`);
            break;
          }
          const compression = textOf(chunk.compression);
          const encodings = textOf(chunk.encodings);
          if (image && (compression !== "UNCOMPRESSED" || encodings.includes("DICTIONARY"))) {
            problems.push(`${where}: image leaf ${path} is ${compression} ${encodings}, expected UNCOMPRESSED PLAIN`);
            break;
          }
          if (!image && compression !== "SNAPPY") {
            problems.push(`${where}: column ${path} is ${compression}, expected SNAPPY`);
            break;
          }
        }
        problems.push(...checkPageIndex(file).map((p) => `${where}: page index: ${p}`));
        for (const [key, value] of kv) {
          const text = key === "ARROW:schema" ? (huggingfaceInArrowSchemaSafe(value) ?? "") : value;
          const found = findLocalPath(text, localPaths);
          if (found) pathProblems.add(`${where}: key/value metadata ${key} names ${found.path}, a folder of the build machine`);
        }
        const has = (name: string, test: (f: HfFeature) => boolean) => fileFeatures.some(([n, f]) => n === name && test(f));
        const isInt = (f: HfFeature) => f._type === "Value" && f.dtype === "int64";
        const labelled = has("cluster_id", isInt) && has("cluster_size", isInt);
        const named = has("file_name", (f) => f._type === "Value" && f.dtype === "string");
        const images = fileFeatures.filter(([, f]) => f._type === "Image").map(([n]) => n);
        if (labelled || named || images.length > 0) {
          const col = (name: string) => `"${name.replaceAll('"', '""')}"`;
          const select = [
            "file_row_number as r",
            named ? "file_name" : "null as file_name",
            labelled ? "cluster_id, cluster_size" : "null as cluster_id, null as cluster_size",
            ...images.map((name, i) => `${col(name)}.path as p${i}`),
          ];
          const read = await db.all(`select ${select.join(", ")} from read_parquet(${quote(file)}, file_row_number = true) order by file_row_number`);
          for (const r of read) {
            const at = { shard: where, row: Number(r.r), fileName: r.file_name == null ? null : textOf(r.file_name) };
            if (labelled) rows.push({ ...at, id: r.cluster_id == null ? null : Number(r.cluster_id), size: r.cluster_size == null ? null : Number(r.cluster_size) });
            // image.path is the bare file name, as datasets writes it: no folder, least of all a local one.
            images.forEach((name, i) => {
              const path = r[`p${i}`];
              if (path != null && /[\\/]/.test(textOf(path))) {
                pathProblems.add(`${where} row ${at.row}${at.fileName === null ? "" : ` (${at.fileName})`}: ${name}.path ${JSON.stringify(textOf(path))} is not a bare file name`);
              }
            });
            const local = at.fileName === null ? undefined : findLocalPath(at.fileName, localPaths);
            if (local) pathProblems.add(`${where} row ${at.row}: file_name names ${local.path}, a folder of the build machine`);
          }
        }
        // Other string columns (pass-through) must not name the build machine's folders either.
        const strings = fileFeatures.filter(([n, f]) => f._type === "Value" && f.dtype === "string" && n !== "file_name").map(([n]) => n);
        for (const name of strings) {
          const c = `"${name.replaceAll('"', '""')}"`;
          const [hit] = await db.all(
            `select file_row_number as r, ${c} as v from read_parquet(${quote(file)}, file_row_number = true)
               where ${localPaths.map((p) => `contains(${c}, ${quote(p)})`).join(" or ") || "false"} order by file_row_number limit 1`,
          );
          const found = hit ? findLocalPath(textOf(hit.v), localPaths) : undefined;
          if (found) pathProblems.add(`${where} row ${Number(hit!.r)}: ${name} names ${found.path}, a folder of the build machine`);
        }
        const [counted] = await db.all(`select count(*)::BIGINT as n from read_parquet(${quote(file)})`);
        shards.push({ path: where, rows: Number(counted!.n), bytes: (await stat(file)).size });
      }
      checks.push(`split ${split}: schema, features metadata, compression, row groups, page index`);

      const numRows = shards.reduce((s, x) => s + x.rows, 0);
      const list = `[${files.map(quote).join(", ")}]`;
      const featureList = features ?? [];
      // Arrow in-memory bytes, with the formula of ArrowSizeCounter (release-schema.ts).
      const sizeTerms: string[] = [];
      const nullTerms: string[] = [];
      for (const [name, feature] of featureList) {
        const col = `"${name.replaceAll('"', '""')}"`;
        if (feature._type === "Image") {
          sizeTerms.push(`coalesce(sum(octet_length(${col}.bytes)), 0)`, `coalesce(sum(strlen(${col}.path)), 0)`, `8 * (count(*) + 1)`);
          nullTerms.push(`bool_or(${col} is null)`, `bool_or(${col}.bytes is null)`, `bool_or(${col}.path is null)`);
        } else if (feature._type === "Value" && feature.dtype === "string") {
          sizeTerms.push(`coalesce(sum(strlen(${col})), 0)`, `4 * (count(*) + 1)`);
          nullTerms.push(`bool_or(${col} is null)`);
        } else if (feature._type === "Value" && feature.dtype === "bool") {
          sizeTerms.push(`ceil(count(*) / 8)`);
          nullTerms.push(`bool_or(${col} is null)`);
        } else {
          sizeTerms.push(`8 * count(*)`);
          nullTerms.push(`bool_or(${col} is null)`);
        }
      }
      let numBytes = 0;
      if (numRows > 0 && sizeTerms.length > 0) {
        const [size] = await db.all(
          `select (${sizeTerms.join(" + ")})::BIGINT as bytes, ${nullTerms.map((t, i) => `${t} as n${i}`).join(", ")}, count(*)::BIGINT as rows from read_parquet(${list})`,
        );
        const bitmaps = nullTerms.filter((_, i) => size![`n${i}`] === true).length;
        numBytes = Number(size!.bytes) + bitmaps * Math.ceil(numRows / 8);
      }
      // Contiguous shards: the first n % k get one extra row.
      const k = shards.length;
      shards.forEach((shard, i) => {
        const want = Math.floor(numRows / k) + (i < numRows % k ? 1 : 0);
        if (shard.rows !== want) problems.push(`${shard.path}: ${shard.rows} rows, push_to_hub's contiguous split gives ${want}`);
      });

      let labels: ReleaseDataInfo["labels"];
      const isInt64 = (name: string) => featureList.some(([n, f]) => n === name && f._type === "Value" && f.dtype === "int64");
      if (isInt64("cluster_id") && isInt64("cluster_size")) {
        const checked = checkLabels(split, rows);
        problems.push(...checked.problems);
        labels = checked.counts;
        labelRows.set(split, rows);
        checks.push(`split ${split}: cluster_id and cluster_size of every row (${labels.identityRows} in ${labels.identities} identities, ${labels.noiseRows} noise, ${labels.noFaceRows} without a face)`);
      }
      problems.push(...pathProblems.lines());
      const [images] = await db.all(`select count(*)::BIGINT as n from read_parquet(${list}) where image is null or image.bytes is null`);
      if (featureList.some(([, f]) => f._type === "Image") && Number(images?.n ?? 0) > 0) {
        problems.push(`split ${split}: ${Number(images!.n)} row(s) without image bytes`);
      }

      const downloadSize = shards.reduce((s, x) => s + x.bytes, 0);
      splits.push({ split, features: featureList, shards, numExamples: numRows, numBytes, downloadSize, datasetSize: numBytes, ...(labels && { labels }) });
    }
  } finally {
    db.close();
  }

  // The card's dataset_info against the data.
  const readmePath = join(params.folder, "README.md");
  const card = params.card === false ? undefined : await readFile(readmePath, "utf8").catch(() => undefined);
  if (params.card === false) {
    // shards only
  } else if (card === undefined) problems.push("README.md is missing");
  else {
    const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(card);
    const header = match ? (parseYaml(match[1]!) as Record<string, unknown> | null) : null;
    if (!header || typeof header !== "object") problems.push("README.md has no YAML header");
    else {
      let info = header.dataset_info as Record<string, unknown> | Record<string, unknown>[] | undefined;
      if (Array.isArray(info)) info = info.find((i) => (i.config_name ?? "default") === "default");
      const cardSplits = (info?.splits ?? []) as { name: string; num_bytes: unknown; num_examples: unknown }[];
      for (const data of splits) {
        const entry = cardSplits.find((s) => s.name === data.split);
        if (!entry) {
          problems.push(`README.md: dataset_info has no split ${data.split}`);
          continue;
        }
        if (entry.num_examples !== data.numExamples) problems.push(`README.md: ${data.split} num_examples ${String(entry.num_examples)}, the shards hold ${data.numExamples}`);
        if (entry.num_bytes !== data.numBytes) problems.push(`README.md: ${data.split} num_bytes ${String(entry.num_bytes)}, the data's Arrow size is ${data.numBytes}`);
        const features = JSON.stringify(data.features.map(([n, f]) => cardFeature(n, f)));
        if (JSON.stringify(info?.features) !== features) problems.push(`README.md: dataset_info.features ${JSON.stringify(info?.features)} differ from the shards' ${features}`);
      }
      const download = splits.reduce((s, x) => s + x.downloadSize, 0);
      const size = splits.reduce((s, x) => s + x.numBytes, 0);
      if (info?.download_size !== download) problems.push(`README.md: download_size ${String(info?.download_size)}, the shards total ${download} bytes`);
      if (info?.dataset_size !== size) problems.push(`README.md: dataset_size ${String(info?.dataset_size)}, the data's Arrow size is ${size}`);
      checks.push("card dataset_info");
    }
    const stated = splits.length === 1 && splits[0]!.labels ? checkStatedCounts(card, splits[0]!.labels, splits[0]!.numExamples) : [];
    if (stated.length > 0 || (splits.length === 1 && splits[0]!.labels && STATED_COUNTS.test(card))) {
      problems.push(...stated);
      checks.push("card statistics against the shards");
    }
    if (params.checkCard && splits.length === 1) {
      problems.push(...(await params.checkCard(card, splits[0]!)).map((p) => `README.md: ${p}`));
      checks.push("card generated numbers");
    }
  }
  if (params.card !== false) {
    const inputsText = await readFile(join(params.folder, CARD_INPUTS_FILE), "utf8").catch(() => undefined);
    if (inputsText !== undefined) {
      problems.push(...checkCardInputs({ text: inputsText, splits, rows: labelRows }));
      checks.push(`${CARD_INPUTS_FILE} against the data`);
    }
  }
  // Text files (README.md, card-inputs.json, assets/*.svg, ...): no folder of the build machine.
  problems.push(...(await checkTextFilesForLocalPaths(params.folder, localPaths)));
  checks.push("no local paths");
  return { problems, splits, checks };
}
