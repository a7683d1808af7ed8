/**
 * The identity review's decisions file (`clustering.overrides`, issue #13): what a person decided
 * about the clusters, one entry per decision, applied in file order after DBSCAN and before stable
 * ids (apply-overrides.ts).
 *
 * Images are named by the SHA-256 of the source image's bytes (the embed index's `image_sha256`),
 * never by row number or cluster id: those change with a new source revision, re-sharding and
 * re-numbering, an image's bytes do not. `files` keeps the file names of the moment for people
 * reading the file; it decides nothing.
 *
 * ```yaml
 * version: 1
 * decisions:
 *   - id: 20261202T174900Z-3f2a
 *     action: merge            # merge | split | exclude | check
 *     images: [<sha256>, <sha256>]
 *     files: [a.jpg, b.jpg]
 *     who: ada
 *     when: 2026-12-02T17:49:00.000Z
 *     why: same person, different hair
 * ```
 */
import { readFile } from "node:fs/promises";
import { isMap, isSeq, LineCounter, parseDocument, stringify, type Node } from "yaml";
import { UsageError } from "../common/errors.ts";
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../common/write-file-atomic.ts";

export const OVERRIDES_VERSION = 1;

/**
 * - `merge`: the identities holding these images are one person (one image per identity is enough).
 * - `split`: these images leave their identity, together: into the identity holding `into`, or,
 *   without `into`, into a new identity of their own.
 * - `exclude`: these images leave the release (`why` says why: required).
 * - `check`: a person looked at the identity made of exactly these images and found it right; it
 *   counts as checked while its members are a subset of these.
 */
export type OverrideAction = "merge" | "split" | "exclude" | "check";
export const OVERRIDE_ACTIONS: readonly OverrideAction[] = ["merge", "split", "exclude", "check"];

export interface OverrideDecision {
  /** Unique within the file; names the decision in reports and in undo. */
  id: string;
  action: OverrideAction;
  /** SHA-256 (64 lowercase hex) of each image's source bytes; at least one (two for merge). */
  images: string[];
  /** `split` only: an image of the identity to move into; absent means a new identity. */
  into?: string;
  /** File names when the decision was taken, for readers of the file. */
  files?: string[];
  /** Who decided (free text). */
  who: string;
  /** When (ISO 8601). */
  when: string;
  /** Why (required for `exclude`). */
  why?: string;
}

export interface OverridesFile {
  version: typeof OVERRIDES_VERSION;
  decisions: OverrideDecision[];
}

const SHA256 = /^[0-9a-f]{64}$/;

export function emptyOverrides(): OverridesFile {
  return { version: OVERRIDES_VERSION, decisions: [] };
}

/** Parses and checks a decisions file; every problem names the file, line and key. */
export function parseOverrides(text: string, file: string): OverridesFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    // Without pretty errors the parser gives offsets, not lines: the line counter turns them into lines.
    const line = error.linePos?.[0]?.line ?? lines.linePos(error.pos[0]).line;
    throw new UsageError(`${file}:${line}: not valid YAML: ${error.message.split("\n")[0]}`);
  }
  if (doc.contents === null) return emptyOverrides();
  if (!isMap(doc.contents)) throw new UsageError(`${at(doc.contents)}: an overrides file is a mapping with "version" and "decisions"`);
  const root = doc.contents;
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (key !== "version" && key !== "decisions") throw new UsageError(`${at(pair.key as Node)}: unknown key "${key}" (expected version, decisions)`);
  }
  const version = (root.toJSON() as Record<string, unknown>).version;
  // A missing version is reported at the mapping's first line: every error names a line.
  if (version !== OVERRIDES_VERSION) throw new UsageError(`${at((root.get("version", true) as Node | undefined) ?? root)}: version: expected ${OVERRIDES_VERSION}, got ${JSON.stringify(version ?? null)}`);
  const list = root.get("decisions", true) as Node | undefined;
  if (list === undefined || list === null || (isMap(list) === false && isSeq(list) === false && (list as { value?: unknown }).value === null)) {
    return emptyOverrides();
  }
  if (!isSeq(list)) throw new UsageError(`${at(list)}: decisions: expected a list`);
  const seen = new Map<string, number>();
  const decisions = list.items.map((item, i) => {
    const where = (key?: string) => `${at((key && isMap(item) ? (item.get(key, true) as Node) : undefined) ?? (item as Node))}: decisions[${i}]${key ? `.${key}` : ""}`;
    if (!isMap(item)) throw new UsageError(`${where()}: expected a mapping`);
    const value = item.toJSON() as Record<string, unknown>;
    const allowed = new Set(["id", "action", "images", "into", "files", "who", "when", "why"]);
    for (const key of Object.keys(value)) if (!allowed.has(key)) throw new UsageError(`${where(key)}: unknown key "${key}" (expected ${[...allowed].join(", ")})`);
    const text = (key: string, required: boolean): string | undefined => {
      const v = value[key];
      if (v === undefined || v === null) {
        if (required) throw new UsageError(`${where()}: "${key}" is missing`);
        return undefined;
      }
      if (typeof v !== "string" && !(v instanceof Date)) throw new UsageError(`${where(key)}: expected text, got ${JSON.stringify(v)}`);
      const s = v instanceof Date ? v.toISOString() : v;
      if (required && s.trim() === "") throw new UsageError(`${where(key)}: must not be empty`);
      return s;
    };
    const id = text("id", true)!;
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new UsageError(`${where("id")}: id "${id}" is also decisions[${earlier}]'s`);
    seen.set(id, i);
    const action = text("action", true)! as OverrideAction;
    if (!OVERRIDE_ACTIONS.includes(action)) throw new UsageError(`${where("action")}: "${action}" is not one of ${OVERRIDE_ACTIONS.join(", ")}`);
    const images = value.images;
    if (!Array.isArray(images) || images.length === 0) throw new UsageError(`${where("images")}: expected a non-empty list of image SHA-256s`);
    // Errors about one image name that image's line (a long list spans many lines).
    const imageNodes = item.get("images", true);
    const imageAt = (k: number) => `${at((isSeq(imageNodes) ? (imageNodes.items[k] as Node) : undefined) ?? (imageNodes as Node))}: decisions[${i}].images[${k}]`;
    images.forEach((sha, k) => {
      if (typeof sha !== "string" || !SHA256.test(sha)) throw new UsageError(`${imageAt(k)}: ${JSON.stringify(sha)} is not a SHA-256 (64 lowercase hex digits)`);
    });
    const twice = images.findIndex((sha, k) => images.indexOf(sha) !== k);
    if (twice >= 0) throw new UsageError(`${imageAt(twice)}: lists image ${String(images[twice]).slice(0, 12)} twice`);
    if (action === "merge" && images.length < 2) throw new UsageError(`${where("images")}: a merge names at least two images (one per identity)`);
    const into = text("into", false);
    if (into !== undefined && action !== "split") throw new UsageError(`${where("into")}: only a split has "into"`);
    if (into !== undefined && !SHA256.test(into)) throw new UsageError(`${where("into")}: ${JSON.stringify(into)} is not a SHA-256`);
    const files = value.files;
    if (files !== undefined && (!Array.isArray(files) || files.some((f) => typeof f !== "string"))) throw new UsageError(`${where("files")}: expected a list of file names`);
    const who = text("who", true)!;
    const when = text("when", true)!;
    if (Number.isNaN(Date.parse(when))) throw new UsageError(`${where("when")}: "${when}" is not an ISO 8601 time`);
    const why = text("why", false);
    if (action === "exclude" && (why === undefined || why.trim() === "")) throw new UsageError(`${where()}: an exclude says why ("why" is missing)`);
    const decision: OverrideDecision = { id, action, images: images as string[], who, when };
    if (into !== undefined) decision.into = into;
    if (files !== undefined) decision.files = files as string[];
    if (why !== undefined) decision.why = why;
    return decision;
  });
  return { version: OVERRIDES_VERSION, decisions };
}

export interface ReadOverridesResult extends OverridesFile {
  /** SHA-256 of the file's bytes (stage keys), or null when the file does not exist. */
  sha256: string | null;
}

/**
 * Reads a decisions file. A missing file is an error unless `missingIsEmpty` (the review page
 * starts one; a config that names a file that is not there is a typo until proven otherwise).
 */
export async function readOverrides(path: string, options: { missingIsEmpty?: boolean; key?: string } = {}): Promise<ReadOverridesResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && options.missingIsEmpty) return { ...emptyOverrides(), sha256: null };
    const what = options.key ? `${options.key}: ` : "";
    throw new UsageError(`${what}cannot read the overrides file ${path} (${code ?? String(error)})`);
  }
  return { ...parseOverrides(bytes.toString("utf8"), path), sha256: createHash("sha256").update(bytes).digest("hex") };
}

const HEADER = [
  "# Identity review decisions (idclusters review; the config's clustering.overrides).",
  "# Applied in order after DBSCAN, before stable ids. Images are keyed by the SHA-256 of their",
  "# source bytes, so the decisions survive new source revisions, re-sharding and re-numbering.",
  "",
].join("\n");

export function serializeOverrides(file: OverridesFile): string {
  const plain = {
    version: file.version,
    decisions: file.decisions.map((d) => {
      const out: Record<string, unknown> = { id: d.id, action: d.action, images: d.images };
      if (d.into !== undefined) out.into = d.into;
      if (d.files !== undefined) out.files = d.files;
      out.who = d.who;
      out.when = d.when;
      if (d.why !== undefined) out.why = d.why;
      return out;
    }),
  };
  return HEADER + stringify(plain, { lineWidth: 0 });
}

/** Writes the whole file atomically (a reader never sees half a file). */
export async function writeOverrides(path: string, file: OverridesFile): Promise<void> {
  // Round-trip check: what we write must read back as the same decisions.
  const text = serializeOverrides(file);
  parseOverrides(text, path);
  await writeFileAtomic(path, text);
}
