/**
 * The build key: a hash of everything a release's files depend on except the previous release.
 * It is published in `card-inputs.json`, so a run recognises its own release on the Hub without
 * any local state (issue #10: a fresh work dir on an unchanged target must publish nothing). It
 * therefore holds no local path: local sources and models count by content (the embed index and
 * the model SHA-256s), not by where they lie on the build machine. The review's decisions file
 * counts by its SHA-256 (issue #13: a changed decision changes the release, an unchanged file
 * reproduces it byte for byte); without one the key is what it always was.
 */
import { sha256OfFile } from "../common/file-hashes.ts";
import type { ReleaseConfig } from "../config/index.ts";
import type { ReleaseInputs } from "./pull-inputs.ts";
import { hashInputs } from "./stage-manifest.ts";

export interface BuildKeyParams {
  config: ReleaseConfig;
  inputs: ReleaseInputs;
  toolVersion: string;
  idPolicy: "sklearn-order" | "stable";
  /** The embed and cluster steps' outputs. */
  indexPath: string;
  sklearnLabelsPath: string;
  statsPath: string;
  labelRowsPath?: string;
  /** SHA-256 of the `clustering.overrides` file, when the config names one. */
  overridesSha256?: string;
}

export async function buildKeyOf(params: BuildKeyParams): Promise<string> {
  const { config } = params;
  const { file: _file, workDir: _workDir, source, detector, recognizer, clustering, ...rest } = config;
  const { overrides: _overrides, ...clusteringSettings } = clustering;
  const where = (location: { kind: string }) => (location.kind === "hub" ? location : { kind: "local" });
  return hashInputs({
    tool: params.toolVersion,
    config: {
      ...rest,
      clustering: clusteringSettings,
      source: { ...source, location: where(source.location) },
      detector: { ...detector, location: where(detector.location) },
      recognizer: { ...recognizer, location: where(recognizer.location) },
      // Only what changes the release files: device and batch size do not.
      faces: { noFace: config.faces.noFace, maxPixels: config.faces.maxPixels },
      // Visibility is a repo setting, not content: changing it re-exports nothing.
      release: { ...config.release, tag: null, private: null },
    },
    models: [params.inputs.detector.sha256, params.inputs.recognizer.sha256],
    source: params.inputs.sourceCommit ?? null,
    index: await sha256OfFile(params.indexPath),
    sklearnLabels: await sha256OfFile(params.sklearnLabelsPath),
    labelRows: params.labelRowsPath ? await sha256OfFile(params.labelRowsPath) : null,
    stats: await sha256OfFile(params.statsPath),
    policy: params.idPolicy,
    ...(params.overridesSha256 !== undefined && { overrides: params.overridesSha256 }),
  });
}
