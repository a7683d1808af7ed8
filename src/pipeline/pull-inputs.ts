/**
 * Makes a release config's inputs local: the source images and the two model files. Hub locations
 * are pulled into the Hub cache at their pinned revisions (a completed pull of a commit SHA is
 * reused without any request); local paths are checked. Model files are hashed once here: the
 * SHA-256 is checked against the config, keys the embed cache and goes into the card.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { sha256OfModelFile } from "../embed/index.ts";
import type { ModelLocation, ReleaseConfig } from "../config/index.ts";
import { pullSnapshot, resolveHubSettings, type ResolveHubSettingsParams } from "../hub/index.ts";

export interface LocalModel {
  /** Local ONNX file. */
  path: string;
  /** SHA-256 of the file. */
  sha256: string;
  /** Commit the Hub revision resolved to (undefined for local files). */
  commit?: string;
}

export interface ReleaseInputs {
  /** Local folder (snapshot or image folder) or file holding the source images. */
  sourcePath: string;
  /** Commit the source revision resolved to (undefined for a local source). */
  sourceCommit?: string;
  detector: LocalModel;
  recognizer: LocalModel;
}

/** Hub files of the config's source: the split's shards unless `source.include` says otherwise. */
export function sourceIncludeGlobs(config: ReleaseConfig): string[] {
  return config.source.include ?? [`data/${config.source.split}-*`];
}

export async function pullReleaseInputs(config: ReleaseConfig, hub: ResolveHubSettingsParams): Promise<ReleaseInputs> {
  const hubSettings = () => resolveHubSettings(hub);
  const { location } = config.source;
  let sourcePath: string;
  let sourceCommit: string | undefined;
  if (location.kind === "local") {
    sourcePath = location.path;
    if (!(await stat(sourcePath).catch(() => undefined))) {
      throw new UsageError(`${config.file}: source.path ${sourcePath} does not exist`);
    }
  } else {
    const pulled = await pullSnapshot({
      repo: location.repo,
      revision: location.revision,
      include: sourceIncludeGlobs(config),
      exclude: config.source.exclude,
      ...hubSettings(),
    });
    sourcePath = pulled.snapshotPath;
    sourceCommit = pulled.commit;
  }
  return {
    sourcePath,
    sourceCommit,
    detector: await localModel(config, "detector", config.detector.location, config.detector.sha256, hubSettings),
    recognizer: await localModel(config, "recognizer", config.recognizer.location, config.recognizer.sha256, hubSettings),
  };
}

async function localModel(
  config: ReleaseConfig,
  role: "detector" | "recognizer",
  location: ModelLocation,
  expectedSha256: string | undefined,
  hubSettings: () => ReturnType<typeof resolveHubSettings>,
): Promise<LocalModel> {
  let path: string;
  let commit: string | undefined;
  if (location.kind === "local") path = location.path;
  else {
    const pulled = await pullSnapshot({
      repo: location.repo,
      repoType: "model",
      revision: location.revision,
      include: [location.file],
      ...hubSettings(),
    });
    path = join(pulled.snapshotPath, location.file);
    commit = pulled.commit;
  }
  const sha256 = await sha256OfModelFile(path);
  if (expectedSha256 && sha256 !== expectedSha256.toLowerCase()) {
    throw new UsageError(
      `${config.file}: models.${role}.sha256 expects ${expectedSha256}, but ${path} has sha256 ${sha256}`,
    );
  }
  return { path, sha256, commit };
}
