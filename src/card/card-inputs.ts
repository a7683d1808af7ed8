/**
 * Everything the dataset card is computed from. The card shows no number that is not derived from
 * these values, so `verify` can re-render the card from the data and compare.
 */
import type { ClusterStats } from "../cluster/index.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { ReleaseDataInfo } from "../release/index.ts";

export type { ClusterStats };

/** A source row that is not in the release, and why. */
export interface CardProblem {
  /** Row index in the source split. */
  row: number;
  fileName: string;
  status: "no_face" | "error";
  reason: string;
}

/** A model file the labels depend on. */
export interface CardModel {
  role: "detector" | "recognizer";
  /** Detector family (`scrfd`, `yunet`). */
  kind?: string;
  /** Hub repo id, for a Hub model. */
  repo?: string;
  /** File in the repo. */
  file?: string;
  /** Pinned commit of the repo. */
  revision?: string;
  /**
   * Local file, for a model not on the Hub, as the build machine resolved it. Never published: the
   * card and card-inputs.json name a local model by its base name (`file`) and SHA-256 only
   * (publicCardInputs).
   */
  path?: string;
  /** SHA-256 of the ONNX file that was actually run. */
  sha256: string;
  /** Licence of the weights. */
  license?: string;
}

/** Where the images came from. */
export interface CardSource {
  /** Hub dataset repo id. */
  repo?: string;
  /** Commit of the source repo. */
  revision?: string;
  /**
   * Local folder, for a source not on the Hub, as the build machine resolved it. Never published:
   * the card and card-inputs.json name it by `name` (publicCardInputs).
   */
  path?: string;
  /** What a local source is called in the card and card-inputs.json: its folder's (or file's) base name. */
  name?: string;
  /** Source split the images were read from. */
  split: string;
}

export interface CardInputs {
  /** The release config: `release.card.*`, clustering, images, release split/target. */
  config: ReleaseConfig;
  /** Shards and sizes of the written release. */
  data: ReleaseDataInfo;
  /** The cluster stage's statistics (its `stats.json`). */
  clusterStats: ClusterStats;
  /** Dropped source rows and why. */
  problems: CardProblem[];
  models: CardModel[];
  source: CardSource;
  /** idclusters version that built the release. */
  toolVersion: string;
  /** Commit of the previous release in the target repo, if any. */
  previousCommit?: string;
  /**
   * Hash of everything the release depends on but the previous release (pipeline/build-key.ts):
   * published so a rerun recognises its own release on the Hub without local state.
   */
  buildKey?: string;
  /** How identities moved since the previous release (`id_policy: stable`, written by `idclusters run`). */
  changelog?: CardChangelog;
  /** The identity review applied after DBSCAN (`clustering.overrides`); absent without one. */
  review?: CardReview;
}

/**
 * What a person's review (the decisions file, issue #13) did to this release. Published in
 * card-inputs.json: the next release reads `appliedIds` back to tell its new decisions from these.
 * Who decided and why stay in the decisions file: the card names decisions by id only.
 */
export interface CardReview {
  /** SHA-256 of the decisions file the release was built with. */
  sha256: string;
  /** Decisions in the file. */
  decisions: number;
  /** Decisions applied, by kind (`split`: into a new identity; `move`: a split with `into`). */
  applied: { merge: number; split: number; move: number; exclude: number; check: number };
  /** Ids of the applied decisions, in file order. */
  appliedIds: string[];
  /** Identities of the release whose every image a `check` decision covers. */
  checkedIdentities: number;
  /** Source images left out of the release by an exclusion. */
  excludedImages: number;
  /**
   * Of those, images without a detected face kept by `faces.no_face: keep` (absent when none): their
   * all-zero embedding rows were clustered, so DBSCAN's counts (card-context.ts dbscanCounts) take
   * them out with the problem rows, which no longer list them.
   */
  excludedWithoutFace?: number;
  /** Decisions (or images of them) that could not be applied: an image not in this build, a contradiction. */
  problems: number;
}

/** A review decision new since the previous release, and what it did to the published ids. */
export interface CardManualChange {
  decision: string;
  action: "merge" | "split" | "move" | "exclude" | "check";
  /** Its images in this build. */
  images: number;
  /** Previous ids of its images; current ids (none for an exclusion). Decimal strings. */
  from: string[];
  into: string[];
}

/** Identity changes against the previous release; ids as decimal strings (JSON has no int64). */
export interface CardChangelog {
  /** Identities that kept their previous id. */
  kept: number;
  /** Identities with a fresh id. */
  fresh: number;
  /** Previous ids no row carries any more. */
  retired: number;
  /**
   * A current identity holding rows of several previous ones (`manual`: the review explains it: new
   * decisions, or, with `undone`, undoing withdrawn ones).
   */
  merges: { id: string; from: string[]; manual?: boolean; undone?: boolean }[];
  /** A previous identity whose rows went to several current ones (`manual`, `undone`: as for merges). */
  splits: { id: string; into: string[]; manual?: boolean; undone?: boolean }[];
  /** Review decisions applied now and not in the previous release (only with `clustering.overrides`). */
  manual?: CardManualChange[];
  /** Ids of the review decisions the previous release applied and this one does not (withdrawn); absent when none. */
  withdrawn?: string[];
}

/** The last segment of a local path, either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== "");
  return parts[parts.length - 1] ?? path;
}

/**
 * Absolute path-like tokens (`/a/b`, `~/a`, `C:\\a`, `\\\\server\\share`, `file:///a`) of a text
 * replaced by their base names: problem reasons can quote a local file.
 */
export function withoutLocalFolders(text: string): string {
  return text.replace(/(^|[\s"'`(<[{,;=|])((?:\/(?![/\s])[^/\s"'`()<>[\]{},;=|]+\/|~[\\/]|[A-Za-z]:[\\/]|\\\\[^\\]|file:\/\/)[^\s"'`()<>[\]{},;=|]*)/g, (_, before: string, path: string) => before + baseName(path));
}

/**
 * The inputs as they may be published (card-inputs.json, the card): no folder of the machine that
 * built the release. A local source becomes `{ name: <base name>, split }`, a local model
 * `{ file: <base name>, sha256 }`; the reasons of the problem rows lose any absolute folder.
 */
export function publicCardInputs<T extends Omit<CardInputs, "config">>(inputs: T): T {
  const { path: sourcePath, ...source } = inputs.source;
  return {
    ...inputs,
    source: sourcePath !== undefined && source.repo === undefined && source.name === undefined ? { ...source, name: baseName(sourcePath) } : source,
    models: inputs.models.map(({ path, ...model }) =>
      path !== undefined && model.repo === undefined && model.file === undefined ? { ...model, file: baseName(path) } : model,
    ),
    // fileName stays as the source names the row (it is the row's `file_name` in the shards).
    problems: inputs.problems.map((p) => ({ ...p, reason: withoutLocalFolders(p.reason) })),
  };
}
