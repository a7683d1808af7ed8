/**
 * Step 3, cluster: `embeddings.npy` -> DBSCAN labels in scikit-learn's own numbering
 * (`labels-sklearn.npy`), the statistics JSON and, when noise rows are dropped, the rows the labels
 * belong to. Cached by the embeddings' SHA-256 and the clustering parameters.
 */
import { rename } from "node:fs/promises";
import { sha256OfFile } from "../common/file-hashes.ts";
import { log } from "../common/logger.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { hashInputs, hashOutputs, validManifest, writeManifest, type StageOutcome } from "./stage-manifest.ts";
import { workFiles } from "./work-files.ts";

export interface ClusterStepInput {
  config: ReleaseConfig;
  /** `embeddings.npy` written by the embed step. */
  embeddingsPath: string;
  /** idclusters version: part of the stage key. */
  toolVersion: string;
}

export interface ClusterStepOutput {
  outcome: StageOutcome;
  /** int64 labels in DBSCAN's numbering, noise policy applied. */
  sklearnLabelsPath: string;
  statsPath: string;
  /** Source rows of the labels (only with `noise: drop`). */
  labelRowsPath?: string;
}

export async function clusterStep(input: ClusterStepInput): Promise<ClusterStepOutput> {
  const { config } = input;
  const workDir = config.workDir;
  const files = workFiles(workDir);
  const { eps, minSamples, noise } = config.clustering;
  const output: ClusterStepOutput = {
    outcome: "cached",
    sklearnLabelsPath: files.sklearnLabels,
    statsPath: files.stats,
    ...(noise === "drop" && { labelRowsPath: files.labelRows }),
  };
  const embeddingsSha = await sha256OfFile(input.embeddingsPath);
  const key = hashInputs({ stage: "cluster", tool: input.toolVersion, embeddingsSha, eps, minSamples, noise });
  const outputs = [files.sklearnLabels, files.stats, ...(noise === "drop" ? [files.labelRows] : [])];
  const relativeOutputs = outputs.map((path) => path.slice(workDir.length + 1));
  if (await validManifest({ workDir, stage: "cluster", inputHash: key })) {
    log.info("run: cluster: inputs unchanged, skipped");
    return output;
  }
  const { runCluster } = await import("../cluster/index.ts");
  const tmp = (path: string) => `${path}.tmp-${process.pid}`;
  const result = await runCluster({
    embeddingsPath: input.embeddingsPath,
    eps,
    minSamples,
    noise,
    labelsOut: tmp(files.sklearnLabels),
    statsOut: tmp(files.stats),
    ...(noise === "drop" && { rowsOut: tmp(files.labelRows) }),
  });
  for (const path of outputs) await rename(tmp(path), path);
  log.info(`run: cluster: ${result.stats.input_rows} rows -> ${result.stats.identities} identities`);
  await writeManifest(workDir, "cluster", { inputHash: key, ...(await hashOutputs(workDir, relativeOutputs)) });
  return { ...output, outcome: "ran" };
}
