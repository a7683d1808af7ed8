/**
 * Reads a release config: YAML -> JSON Schema validation (configs/idclusters.schema.json, the same
 * file editors use for completion) -> checks the schema cannot express -> typed `ReleaseConfig`
 * with defaults filled and paths resolved. Every problem names the file, the key path and the line.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync, statSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { UsageError } from "../common/errors.ts";
import type { GatedFieldType, ModelLocation, ReleaseConfig, SourceLocation } from "./types.ts";
import { parseByteSize } from "./parse-byte-size.ts";

export const CONFIG_SCHEMA_PATH = fileURLToPath(new URL("../../configs/idclusters.schema.json", import.meta.url));

/** The schema as parsed JSON: error messages read its `if` conditions and `patternErrorMessage`s. */
type SchemaNode = Record<string, unknown>;
let compiled: { schema: SchemaNode; validate: ReturnType<Ajv["compile"]> } | undefined;
function getValidator() {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(CONFIG_SCHEMA_PATH, "utf8")) as SchemaNode;
    compiled = { schema, validate: new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(schema) };
  }
  return compiled;
}

export interface LoadConfigParams {
  /** Path of the YAML config file. */
  file: string;
  /** Overrides the config's work_dir (the `--work-dir` flag). */
  workDir?: string;
  /** Base for the default work directory (`.idclusters/<name>`); defaults to process.cwd(). */
  cwd?: string;
}

/** One problem found in a config file, located in the file. */
export interface ConfigProblem {
  keyPath: string;
  line: number;
  column: number;
  message: string;
}

/** A config error listing every problem found, each as `file:line:col: key: message`. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid config ${file}:\n` +
        problems.map((p) => `  ${file}:${p.line}:${p.column}: ${p.keyPath || "(top level)"}: ${p.message}`).join("\n"),
    );
  }
}

export async function loadConfig(params: LoadConfigParams): Promise<ReleaseConfig> {
  const file = resolve(params.file);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read config ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseConfig(text, { ...params, file });
}

/** Same as `loadConfig` for text already in memory; `file` is used for messages and relative paths. */
export function parseConfig(text: string, params: LoadConfigParams): ReleaseConfig {
  const file = resolve(params.file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lines.linePos(offset);

  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return { keyPath: "", line: pos.line, column: pos.col, message: e.message.split("\n")[0] ?? e.message };
      }),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  const { schema, validate } = getValidator();
  if (!validate(data)) {
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== "if"); // each failing `then` says why itself
    throw new ConfigError(file, dedupe(errors.map((e) => locateSchemaError(doc, e, at, schema))));
  }

  const problems: ConfigProblem[] = [];
  const problem = (keyPath: string, message: string) => {
    const node = nodeAt(doc, keyPath.split("."));
    const pos = at(node?.range?.[0] ?? 0);
    problems.push({ keyPath, line: pos.line, column: pos.col, message });
  };
  const raw = data as RawConfig;
  const baseDir = dirname(file);

  const source = resolveSourceLocation(raw.source, baseDir, problem);
  const detector = resolveModelLocation(raw.models.detector, "models.detector", baseDir, problem);
  const recognizer = resolveModelLocation(raw.models.recognizer, "models.recognizer", baseDir, problem);
  if (raw.images.transform === "resize" && raw.images.size === undefined) {
    problem("images", "transform: resize needs images.size");
  }
  let maxShardSize = 0;
  try {
    maxShardSize = parseByteSize(raw.release.max_shard_size);
  } catch (error) {
    problem("release.max_shard_size", (error as Error).message);
  }
  if (problems.length > 0 || !source || !detector || !recognizer) throw new ConfigError(file, problems);

  const card = raw.release.card;
  return {
    file,
    name: raw.name,
    workDir: params.workDir
      ? resolve(params.workDir)
      : raw.work_dir
        ? resolve(baseDir, raw.work_dir)
        : resolve(params.cwd ?? process.cwd(), ".idclusters", raw.name),
    source: {
      location: source,
      format: raw.source.format,
      split: raw.source.split,
      imageColumn: raw.source.image_column,
      include: raw.source.include,
      exclude: raw.source.exclude,
      passThrough: raw.source.pass_through,
    },
    detector: {
      location: detector,
      sha256: raw.models.detector.sha256,
      license: raw.models.detector.license,
      kind: raw.models.detector.kind,
      inputSize: raw.models.detector.input_size,
      scoreThreshold: raw.models.detector.score_threshold,
      nmsThreshold: raw.models.detector.nms_threshold,
    },
    recognizer: {
      location: recognizer,
      sha256: raw.models.recognizer.sha256,
      license: raw.models.recognizer.license,
      mean: raw.models.recognizer.mean,
      std: raw.models.recognizer.std,
      dtype: raw.models.recognizer.dtype,
    },
    faces: {
      device: raw.faces.device,
      batchSize: raw.faces.batch_size,
      calibrate: raw.faces.calibrate,
      noFace: raw.faces.no_face,
      maxPixels: raw.faces.max_pixels,
    },
    images: { ...raw.images },
    clustering: {
      eps: raw.clustering.eps,
      minSamples: raw.clustering.min_samples,
      noise: raw.clustering.noise,
      idPolicy: raw.clustering.id_policy,
      ...(raw.clustering.overrides !== undefined && { overrides: resolve(baseDir, raw.clustering.overrides) }),
    },
    release: {
      target: raw.release.target,
      split: raw.release.split,
      // Unset stays unset: the Hub then applies the owner's default visibility.
      ...(raw.release.private !== undefined && { private: raw.release.private }),
      ...(raw.release.gated !== undefined && {
        gated: {
          mode: raw.release.gated,
          ...(raw.release.gated_prompt !== undefined && { prompt: raw.release.gated_prompt }),
          ...(raw.release.gated_fields !== undefined && { fields: raw.release.gated_fields }),
        },
      }),
      maxShardSize,
      rowGroupSize: raw.release.row_group_size,
      tag: raw.release.tag,
      card: {
        prettyName: card.pretty_name,
        license: card.license,
        licenseName: card.license_name,
        licenseLink: card.license_link,
        taskCategories: card.task_categories,
        tags: card.tags,
        language: card.language,
        description: card.description,
      },
    },
  };
}

type Problem = (keyPath: string, message: string) => void;

function resolveSourceLocation(raw: RawConfig["source"], baseDir: string, problem: Problem): SourceLocation | undefined {
  if ((raw.repo === undefined) === (raw.path === undefined)) {
    problem("source", "give exactly one of source.repo (a Hub dataset) or source.path (a local folder)");
    return undefined;
  }
  if (raw.path !== undefined) {
    if (raw.revision !== undefined) problem("source.revision", "a revision only applies to source.repo");
    const path = resolve(baseDir, raw.path);
    // Checked now, not after the models are pulled: `config` must catch what `run` would fail on.
    if (!statSync(path, { throwIfNoEntry: false })) problem("source.path", `${path} does not exist`);
    return { kind: "local", path };
  }
  if (raw.revision === undefined) {
    problem("source", "source.repo needs source.revision (pin a commit sha for reproducible releases)");
    return undefined;
  }
  return { kind: "hub", repo: raw.repo!, revision: raw.revision };
}

function resolveModelLocation(
  raw: RawModel,
  key: string,
  baseDir: string,
  problem: Problem,
): ModelLocation | undefined {
  if ((raw.repo === undefined) === (raw.path === undefined)) {
    problem(key, `give exactly one of ${key}.repo (with file and revision) or ${key}.path (a local ONNX file)`);
    return undefined;
  }
  if (raw.path !== undefined) {
    for (const extra of ["file", "revision"] as const) {
      if (raw[extra] !== undefined) problem(`${key}.${extra}`, `${extra} only applies to ${key}.repo`);
    }
    const path = resolve(baseDir, raw.path);
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) problem(`${key}.path`, `${path} does not exist`);
    else if (!info.isFile()) problem(`${key}.path`, `${path} is not a file`);
    return { kind: "local", path };
  }
  const missing = (["file", "revision"] as const).filter((k) => raw[k] === undefined);
  if (missing.length > 0) {
    problem(key, `${key}.repo needs ${missing.map((m) => `${key}.${m}`).join(" and ")}`);
    return undefined;
  }
  return { kind: "hub", repo: raw.repo!, file: raw.file!, revision: raw.revision! };
}

/** Finds the YAML node for a key path; falls back to the deepest existing ancestor. */
function nodeAt(doc: Document, path: string[]): Node | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (node && typeof node === "object" && "range" in (node as object)) return node as Node;
  }
  return undefined;
}

function keyNodeOf(doc: Document, parentPath: string[], key: string): Node | undefined {
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
}

/** The schema node a JSON pointer like `#/properties/release/then` names. */
function schemaAt(schema: SchemaNode, pointer: string): SchemaNode | undefined {
  let node: unknown = schema;
  for (const part of pointer.replace(/^#\/?/, "").split("/").filter(Boolean)) {
    node = (node as SchemaNode | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node && typeof node === "object" ? (node as SchemaNode) : undefined;
}

/** The `key: const` condition of the `if` beside a failing `then`, e.g. license "other". */
function thenCondition(schema: SchemaNode, schemaPath: string): { key: string; value: unknown } | undefined {
  const branch = schemaPath.lastIndexOf("/then/");
  if (branch < 0) return undefined;
  const condition = schemaAt(schema, schemaPath.slice(0, branch) + "/if")?.properties as Record<string, { const?: unknown }> | undefined;
  const [key, rule] = Object.entries(condition ?? {}).find(([, r]) => r.const !== undefined) ?? [];
  return key === undefined ? undefined : { key, value: rule!.const };
}

function locateSchemaError(
  doc: Document,
  error: ErrorObject,
  at: (offset: number) => { line: number; col: number },
  schema: SchemaNode,
): ConfigProblem {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  let keyPath = path.join(".");
  let node: Node | undefined;
  let message = error.message ?? "is invalid";
  if (error.keyword === "additionalProperties") {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    node = keyNodeOf(doc, path, key);
    keyPath = [...path, key].join(".");
    message = `unknown key "${key}"`;
  } else if (error.keyword === "required") {
    const key = String((error.params as { missingProperty: string }).missingProperty);
    keyPath = [...path, key].join(".");
    message = "is required";
    const condition = thenCondition(schema, error.schemaPath);
    if (condition) {
      // Point at the value that made the key required (e.g. `license: other`), not at the parent.
      node = nodeAt(doc, [...path, condition.key]);
      message = `is required when ${[...path, condition.key].join(".")} is ${JSON.stringify(condition.value)}`;
    }
  } else if (error.keyword === "dependencies") {
    const { property, missingProperty } = error.params as { property: string; missingProperty: string };
    node = keyNodeOf(doc, path, property);
    keyPath = [...path, property].join(".");
    message = `needs ${[...path, missingProperty].join(".")}`;
  } else if (error.keyword === "pattern") {
    // A schema's own wording (also shown by editors) beats Ajv's `must match pattern "^(?!..."`.
    const explained = schemaAt(schema, error.schemaPath.replace(/\/pattern$/, ""))?.patternErrorMessage;
    if (typeof explained === "string") message = `${explained}, got ${JSON.stringify(doc.getIn(path))}`;
  } else if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  node ??= nodeAt(doc, path);
  const pos = at(node?.range?.[0] ?? 0);
  return { keyPath, line: pos.line, column: pos.col, message };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  // A `oneOf` failure repeats each branch's complaint; keep one line per key and message.
  return problems.filter((p) => {
    const key = `${p.keyPath}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The config as it is after schema validation with defaults applied (snake_case, as written). */
interface RawModel {
  repo?: string;
  file?: string;
  revision?: string;
  path?: string;
  sha256?: string;
  license?: string;
}
interface RawConfig {
  name: string;
  work_dir?: string;
  source: {
    repo?: string;
    revision?: string;
    path?: string;
    format: "auto" | "parquet" | "imagefolder";
    split: string;
    image_column: string;
    include?: string[];
    exclude: string[];
    pass_through: string[];
  };
  models: {
    detector: RawModel & {
      kind: "scrfd" | "yunet";
      input_size: number;
      score_threshold: number;
      nms_threshold: number;
    };
    recognizer: RawModel & {
      mean: number | [number, number, number];
      std: number | [number, number, number];
      dtype: "fp32" | "fp16";
    };
  };
  faces: { device: "auto" | "cuda" | "webgpu" | "cpu"; batch_size: number; calibrate: "auto" | "skip" | "redo"; no_face: "drop" | "keep"; max_pixels: number };
  images: ReleaseConfig["images"];
  clustering: {
    eps: number;
    min_samples: number;
    noise: "singleton" | "keep" | "drop";
    id_policy: "sklearn-order" | "stable";
    overrides?: string;
  };
  release: {
    target: string;
    split: string;
    private?: boolean;
    gated?: "auto" | "manual";
    gated_prompt?: string;
    gated_fields?: Record<string, GatedFieldType>;
    max_shard_size: number | string;
    row_group_size: number;
    tag?: string;
    card: {
      pretty_name?: string;
      license?: string;
      license_name?: string;
      license_link?: string;
      task_categories?: string[];
      tags?: string[];
      language?: string[];
      description?: string;
    };
  };
}
