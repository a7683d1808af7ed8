/**
 * Types and features of the source columns a release carries along (`source.pass_through`, e.g.
 * CelebA-HQ's `label`), decided before any row is written because every shard needs the schema:
 * from a Parquet source's Arrow schema and its `huggingface` features (a ClassLabel keeps its names),
 * from the values of an image folder's metadata otherwise.
 */
import { openAsBlob } from "node:fs";
import { tableFromIPC } from "apache-arrow";
import { ParquetFile } from "parquet-wasm";
import { UsageError } from "../common/errors.ts";
import type { HfFeature } from "./release-data-info.ts";
import type { ReleaseColumn, ReleaseColumnType } from "./release-schema.ts";

const RESERVED = new Set(["image", "file_name", "cluster_id", "cluster_size"]);

function checkNames(names: readonly string[]): void {
  for (const name of names) {
    if (RESERVED.has(name)) throw new UsageError(`source.pass_through: "${name}" is a column the release writes itself; rename or drop it`);
  }
}

function valueFeature(type: ReleaseColumnType): HfFeature {
  if (type === "image") return { _type: "Image" };
  return { _type: "Value", dtype: type === "bool" ? "bool" : type };
}

/** Pass-through columns of Parquet shards: Arrow types, ClassLabel names from the features metadata. */
export async function parquetPassThroughColumns(params: { file: string; names: readonly string[] }): Promise<ReleaseColumn[]> {
  checkNames(params.names);
  if (params.names.length === 0) return [];
  const file = await ParquetFile.fromFile((await openAsBlob(params.file)) as Blob);
  let schemaBytes: Uint8Array;
  try {
    // The file's Arrow schema (from ARROW:schema, metadata included) as an IPC stream.
    schemaBytes = file.schema().intoIPCStream();
  } finally {
    file.free();
  }
  const schema = tableFromIPC(schemaBytes).schema;
  let features: Record<string, { _type?: string; names?: string[]; dtype?: string }> = {};
  const metadata = schema.metadata.get("huggingface");
  if (metadata) {
    try {
      features = (JSON.parse(metadata) as { info?: { features?: typeof features } }).info?.features ?? {};
    } catch {
      // a broken metadata entry only loses the ClassLabel names
    }
  }
  return params.names.map((name) => {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) throw new UsageError(`${params.file} has no column "${name}" (source.pass_through)`);
    const typeName = String(field.type).toLowerCase();
    let type: ReleaseColumnType;
    if (/^u?int/.test(typeName)) type = "int64";
    else if (/^float/.test(typeName)) type = "float64";
    else if (typeName === "bool") type = "bool";
    else if (/utf8|string/.test(typeName)) type = "string";
    else throw new UsageError(`${params.file}: column "${name}" has type ${String(field.type)}; pass-through supports integers, floats, booleans and strings`);
    const feature = features[name];
    if (feature?._type === "ClassLabel" && Array.isArray(feature.names) && type === "int64") {
      return { name, type, feature: { _type: "ClassLabel", names: feature.names.map(String) } };
    }
    return { name, type, feature: valueFeature(type) };
  });
}

/** Pass-through columns of image-folder metadata (csv or jsonl values): the narrowest type that holds every value. */
export function inferredPassThroughColumns(params: { names: readonly string[]; rows: readonly Record<string, unknown>[] }): ReleaseColumn[] {
  checkNames(params.names);
  return params.names.map((name) => {
    const values = params.rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined && v !== "");
    let type: ReleaseColumnType = "string";
    if (values.length > 0 && values.every((v) => typeof v === "boolean")) type = "bool";
    else if (values.length > 0 && values.every((v) => Number.isInteger(typeof v === "string" ? Number(v) : v) && String(v).trim() !== "")) type = "int64";
    else if (values.length > 0 && values.every((v) => Number.isFinite(typeof v === "string" ? Number(v) : v) && String(v).trim() !== "")) type = "float64";
    return { name, type, feature: valueFeature(type) };
  });
}

/** A cell converted to the column's storage type (metadata.csv gives strings). */
export function passThroughValue(column: ReleaseColumn, value: unknown): unknown {
  if (value === null || value === undefined || value === "") return column.type === "string" && value === "" ? "" : null;
  switch (column.type) {
    case "int64":
      return typeof value === "bigint" ? value : BigInt(typeof value === "string" ? value.trim() : Math.trunc(Number(value)));
    case "float64":
      return Number(value);
    case "bool":
      return typeof value === "boolean" ? value : value === "true" || value === "True" || value === "1";
    case "string":
      return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
    case "image":
      return null;
  }
}
