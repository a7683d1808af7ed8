/**
 * `idclusters run`: pull -> embed (the transformed images, as the release does) -> cluster ->
 * identity ids -> export + card -> plan -> push, chaining the stages' library functions. Each stage
 * is cached in the work directory by the hash of its inputs (run-stage-manifest.ts), so a rerun
 * recomputes only what changed and unchanged inputs give a byte-identical release folder, hence
 * no commit ("nothing to publish", pushFolder compares hashes with the Hub's).
 *
 * The previous release is the target repo's head. Once we published, the head holds our own
 * release: `stages/published.json` remembers which data shards we built (the last 20 builds) and on which previous release,
 * so a rerun against our own head still sees the release before it (card's previous commit and
 * changelog stay the same, nothing is recomputed).
 */
import { existsSync } from "node:fs";
import { copyFile, readFile, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { datasetInfo, listFiles, repoExists } from "@huggingface/hub";
import { log } from "../common/logger.ts";
import { readNpy, writeNpy } from "../common/npy.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { sha256OfFile } from "../common/file-hashes.ts";
import { resolveHubSettings, type ResolveHubSettingsParams } from "../hub/hub-settings.ts";
import { pullSnapshot } from "../hub/pull-snapshot.ts";
import { listLocalFiles, pushFolder, type PushFolderResult } from "../hub/push-folder.ts";
import { createRetryingFetch } from "../hub/retrying-fetch.ts";
import { exportFromConfig, workFiles } from "./export-from-config.ts";
import { fingerprintOf, runEmbed, type EmbedSummary } from "../embed/index.ts";
import { planFromConfig } from "./embed-plan-from-config.ts";
import { pullReleaseInputs, type ReleaseInputs } from "./pull-inputs.ts";
import { readReleaseRows } from "../release/index.ts";
import { canonicalJson, hashInputs, hashOutputs, validManifest, writeFileAtomic, writeManifest } from "./stage-manifest.ts";
import { mapStableIds } from "../identities/index.ts";
import { diffCards, type CardChangelog, type CardDiff } from "../card/index.ts";

/** Remote paths a release owns: stale ones are deleted in the publishing commit. */
export const MANAGED_GLOBS = ["data/**", "assets/**"];

export interface RunPipelineParams {
  config: ReleaseConfig;
  hub: ResolveHubSettingsParams;
  /** Release folder (default `<work dir>/release`). */
  outDir?: string;
  /** Publish when a token is available and this is not a dry run. */
  push?: boolean;
  /** Stop before pushing even with `push`. */
  dryRun?: boolean;
  /** Tag for the published commit (default `release.tag`). */
  tag?: string;
  /** Overrides `clustering.id_policy`. */
  idPolicy?: "sklearn-order" | "stable";
  /** idclusters version (card, stage keys). */
  toolVersion: string;
  /** Embed decode worker threads (default: embed's own choice). */
  decodeWorkers?: number;
}

export type StageOutcome = "ran" | "cached";

/** What publishing would change, against the target's current head. */
export interface ReleasePlan {
  target: string;
  /** Head commit of the target ("" when the repo does not exist: a push creates it). */
  head: string;
  repoMissing: boolean;
  /** Why the target could not be read (the plan then lists every file as added). */
  unreachable?: string;
  added: string[];
  updated: string[];
  deleted: string[];
  unchanged: number;
  rows: { previous: number | null; current: number };
  identities: { previous: number | null; current: number };
  /** README.md differs from the head's. */
  cardChanged: boolean;
  /** How it differs (always set by runPipeline; optional for hand-made plans). */
  card?: CardDiff;
  previousCommit: string | null;
  changelog: CardChangelog | null;
}

export interface RunPipelineResult {
  outDir: string;
  stages: Record<"embed" | "cluster" | "ids" | "export", StageOutcome>;
  plan: ReleasePlan;
  /** Set when a push was made (committed or "nothing to publish"). */
  published?: PushFolderResult;
  /** Why nothing was pushed, when nothing was. */
  notPushed?: string;
}

/** The target's head as far as a release is concerned. */
interface PreviousRelease {
  commit: string;
  /** data/ path -> SHA-256 (LFS) or git SHA-1 (regular file) as listed. */
  data: Record<string, string>;
}

interface PublishedState {
  /** Hash of everything the release depends on except the previous release. */
  buildKey: string;
  /** data/ path -> SHA-256 of the release we built last (shards are LFS files: the Hub lists SHA-256). */
  data: Record<string, string>;
  /** The previous release that one was built on. */
  basedOn: PreviousRelease | null;
}

interface IdsExtra {
  previousCommit: string | null;
  changelog: CardChangelog | null;
}

export async function runPipeline(params: RunPipelineParams): Promise<RunPipelineResult> {
  const { config } = params;
  const workDir = config.workDir;
  const outDir = params.outDir ?? join(workDir, "release");
  const settings = resolveHubSettings(params.hub);
  const fetch = createRetryingFetch({});
  const client = { hubUrl: settings.hubUrl, ...(settings.accessToken && { accessToken: settings.accessToken }), fetch };
  // pushFolder wraps its fetch with retries itself.
  const pushClient = { hubUrl: settings.hubUrl, ...(settings.accessToken && { accessToken: settings.accessToken }) };
  const files = workFiles(workDir);
  const stages = {} as RunPipelineResult["stages"];

  // 1. Pull: source snapshot and model files at their pinned revisions (hashed once here).
  const inputs = await pullReleaseInputs(config, params.hub);
  log.info(`run: source ${inputs.sourceCommit ? `${inputs.sourcePath} @ ${inputs.sourceCommit.slice(0, 12)}` : inputs.sourcePath}`);

  // 2. Embed. Cached per image by runEmbed itself; a Hub source at a resolved commit is immutable,
  // so a matching manifest skips even the cache walk (what makes an unchanged 28k rerun fast).
  const plan = await planFromConfig(config, inputs);
  const fingerprint = await fingerprintOf(plan);
  const embedKey = hashInputs({
    stage: "embed",
    tool: params.toolVersion,
    source: inputs.sourceCommit ?? null,
    include: config.source,
    fingerprint,
    noFace: plan.noFace,
    maxPixels: plan.maxPixels ?? null,
  });
  const embedOutputs = [relative(workDir, plan.embeddingsPath), relative(workDir, plan.indexPath ?? files.index)];
  if (inputs.sourceCommit && (await validManifest({ workDir, stage: "embed", inputHash: embedKey }))) {
    stages.embed = "cached";
    log.info("run: embed: inputs unchanged, skipped");
  } else {
    const summary: EmbedSummary = await runEmbed({
      source: plan.source,
      createEngine: async () => {
        const { FaceEngine } = await import("../faces/index.ts");
        return FaceEngine.create({ detector: plan.detector, recognizer: plan.recognizer, device: plan.device, batchSize: plan.batchSize });
      },
      cacheRoot: plan.cacheRoot,
      fingerprint,
      batchSize: plan.batchSize,
      noFace: plan.noFace,
      embeddingsPath: plan.embeddingsPath,
      indexPath: plan.indexPath,
      decode: { maxPixels: plan.maxPixels, transform: plan.transform },
      decodeWorkers: params.decodeWorkers,
    });
    log.info(`run: embed: ${summary.rows} rows, ${summary.cached} from cache, ${summary.computed} computed`);
    await writeManifest(workDir, "embed", { inputHash: embedKey, ...(await hashOutputs(workDir, embedOutputs)) });
    stages.embed = "ran";
  }

  // 3. Cluster (labels in DBSCAN's own order).
  const sklearnLabels = join(workDir, "labels-sklearn.npy");
  const embeddingsSha = await sha256OfFile(plan.embeddingsPath);
  const { eps, minSamples, noise } = config.clustering;
  const clusterKey = hashInputs({ stage: "cluster", tool: params.toolVersion, embeddingsSha, eps, minSamples, noise });
  const clusterOutputs = ["labels-sklearn.npy", "cluster-stats.json", ...(noise === "drop" ? ["label-rows.npy"] : [])];
  if (await validManifest({ workDir, stage: "cluster", inputHash: clusterKey })) {
    stages.cluster = "cached";
    log.info("run: cluster: inputs unchanged, skipped");
  } else {
    const { runCluster } = await import("../cluster/run-cluster.ts");
    const tmp = (path: string) => `${path}.tmp-${process.pid}`;
    const result = await runCluster({
      embeddingsPath: plan.embeddingsPath,
      eps,
      minSamples,
      noise,
      labelsOut: tmp(sklearnLabels),
      statsOut: tmp(files.stats),
      ...(noise === "drop" && { rowsOut: tmp(files.labelRows) }),
    });
    await rename(tmp(sklearnLabels), sklearnLabels);
    await rename(tmp(files.stats), files.stats);
    if (noise === "drop") await rename(tmp(files.labelRows), files.labelRows);
    log.info(`run: cluster: ${result.stats.input_rows} rows -> ${result.stats.identities} identities`);
    await writeManifest(workDir, "cluster", { inputHash: clusterKey, ...(await hashOutputs(workDir, clusterOutputs)) });
    stages.cluster = "ran";
  }

  // 4. Identity ids against the previous release. `buildKey` covers everything the release files
  // depend on except the previous release itself.
  const policy = params.idPolicy ?? config.clustering.idPolicy;
  const { file: _file, workDir: _workDir, ...configKey } = config;
  const buildKey = hashInputs({
    tool: params.toolVersion,
    config: { ...configKey, faces: { noFace: config.faces.noFace, maxPixels: config.faces.maxPixels }, release: { ...config.release, tag: null } },
    models: [inputs.detector.sha256, inputs.recognizer.sha256],
    source: inputs.sourceCommit ?? null,
    index: await sha256OfFile(plan.indexPath ?? files.index),
    sklearnLabels: await sha256OfFile(sklearnLabels),
    labelRows: noise === "drop" ? await sha256OfFile(files.labelRows) : null,
    stats: await sha256OfFile(files.stats),
    policy,
  });
  const target = config.release.target;
  const willPush = params.push && !params.dryRun && settings.accessToken !== undefined;
  let head: PreviousRelease | undefined;
  let unreachable: string | undefined;
  try {
    head = await readTargetHead(target, client);
  } catch (error) {
    // Only a push needs the Hub; a local build plans against nothing and says so.
    if (willPush) throw error;
    unreachable = error instanceof Error ? error.message : String(error);
    log.warn(`cannot read ${target} on ${settings.hubUrl} (${unreachable}); building without a previous release`);
  }
  // Recent builds of this work dir, newest first (a build that was not pushed must not hide the
  // one that was).
  const builtPath = join(workDir, "stages", "published.json");
  const builtRaw = await readJson<unknown>(builtPath);
  const built = Array.isArray(builtRaw) ? (builtRaw as PublishedState[]) : [];
  // The head holds the very release this work dir built from the same inputs: its previous
  // release is the one that build was based on, so the card and ids come out the same again.
  const ownBuild = head ? built.find((b) => b.buildKey === buildKey && sameData(head.data, b.data)) : undefined;
  const ownHead = ownBuild !== undefined;
  const previous = ownBuild ? ownBuild.basedOn : head;
  if (ownHead) log.info(`run: ${target} already holds this release; previous release ${previous?.commit ?? "(none)"}`);
  const idsKey = hashInputs({ stage: "ids", buildKey, previous: previous ?? null });
  let ids = await validManifest<IdsExtra>({ workDir, stage: "ids", inputHash: idsKey });
  if (ids) {
    stages.ids = "cached";
  } else {
    let extra: IdsExtra = { previousCommit: previous?.commit ?? null, changelog: null };
    await copyAtomic(sklearnLabels, files.labels);
    if (policy === "stable" && previous && Object.keys(previous.data).length > 0) {
      extra = { ...extra, changelog: await stableLabels({ config, params, inputs, previous, settings, sklearnLabels }) };
    }
    await writeManifest<IdsExtra>(workDir, "ids", { inputHash: idsKey, ...(await hashOutputs(workDir, ["labels.npy"])), extra });
    ids = { inputHash: idsKey, outputs: {}, extra };
    stages.ids = "ran";
  }
  const { previousCommit, changelog } = ids.extra ?? { previousCommit: null, changelog: null };

  // 5. Export + card into a fresh folder swapped in at the end.
  const exportKey = hashInputs({ stage: "export", buildKey, labels: await sha256OfFile(files.labels), previousCommit, changelog });
  let exported = existsSync(outDir) ? await validManifest({ workDir, stage: "export", inputHash: exportKey, root: outDir }) : undefined;
  // Files added by hand to the release folder are not ours to vouch for: export again.
  if (exported && (await listLocalFiles(outDir)).some((path) => !(path in exported!.outputs))) exported = undefined;
  if (exported) {
    stages.export = "cached";
    log.info("run: export: inputs unchanged, skipped");
  } else {
    // Hand-written parts of the card live on the Hub: merge into the previous release's README
    // (immutable at previousCommit, so the export key already covers it); a first release merges
    // into the card this work dir wrote last, if any.
    let existing: { text: string; name: string } | undefined;
    if (previousCommit) {
      const snap = await pullSnapshot({ repo: target, revision: previousCommit, include: ["README.md"], ...settings, fetch });
      const text = await readFile(join(snap.snapshotPath, "README.md"), "utf8").catch(() => undefined);
      if (text !== undefined) existing = { text, name: `${target}@${previousCommit.slice(0, 12)}/README.md` };
    } else {
      const text = await readFile(join(outDir, "README.md"), "utf8").catch(() => undefined);
      if (text !== undefined) existing = { text, name: join(outDir, "README.md") };
    }
    await exportWithCard({ config, params, inputs, outDir, previousCommit, changelog, existing });
    exported = { inputHash: exportKey, ...(await hashOutputs(outDir, await listLocalFiles(outDir))) };
    await writeManifest(workDir, "export", exported);
    stages.export = "ran";
  }
  const releaseSha256 = exported.outputs;
  const data: PublishedState["data"] = {};
  for (const [path, sha256] of Object.entries(releaseSha256)) if (path.startsWith("data/")) data[path] = sha256;
  const state: PublishedState = { buildKey, data, basedOn: previous ?? null };
  const same = (a: PublishedState) => canonicalJson(a) === canonicalJson(state);
  await writeFileAtomic(builtPath, JSON.stringify([state, ...built.filter((b) => !same(b))].slice(0, 20), null, 2) + "\n");

  // 6. Plan against the head (pushFolder's own diff), then push.
  const diff = unreachable
    ? { commitOid: "", repoMissing: false, added: await listLocalFiles(outDir), updated: [], deleted: [], unchanged: [] as string[] }
    : await pushFolder({ repo: target, folder: outDir, deleteGlobs: MANAGED_GLOBS, dryRun: true, localSha256: releaseSha256, ...pushClient });
  const ours = await readJson<{ data: { numExamples: number }; clusterStats: { identities: number } }>(join(outDir, "card-inputs.json"));
  let theirs: { data?: { numExamples?: number }; clusterStats?: { identities?: number } } | undefined;
  let theirCard: string | undefined;
  if (head) {
    const snap = await pullSnapshot({ repo: target, revision: head.commit, include: ["README.md", "card-inputs.json"], ...settings, fetch });
    theirs = await readJson(join(snap.snapshotPath, "card-inputs.json"));
    theirCard = await readFile(join(snap.snapshotPath, "README.md"), "utf8").catch(() => undefined);
  }
  const card = diffCards({ previous: theirCard, current: await readFile(join(outDir, "README.md"), "utf8"), split: config.release.split });
  const releasePlan: ReleasePlan = {
    target,
    head: diff.commitOid,
    repoMissing: diff.repoMissing ?? false,
    ...(unreachable && { unreachable }),
    added: diff.added,
    updated: diff.updated,
    deleted: diff.deleted,
    unchanged: diff.unchanged.length,
    // A release not made by idclusters has no card-inputs.json: its card header still counts rows.
    rows: { previous: theirs?.data?.numExamples ?? card.numExamples.previous, current: ours?.data.numExamples ?? 0 },
    identities: { previous: theirs?.clusterStats?.identities ?? null, current: ours?.clusterStats.identities ?? 0 },
    cardChanged: card.changed,
    card,
    previousCommit,
    changelog,
  };
  const result: RunPipelineResult = { outDir, stages, plan: releasePlan };
  if (!params.push) result.notPushed = "no --push";
  else if (params.dryRun) result.notPushed = "--dry-run";
  else if (!settings.accessToken) result.notPushed = "no Hub token (HF_TOKEN or --token)";
  else {
    const tag = params.tag ?? config.release.tag;
    result.published = await pushFolder({
      repo: target,
      folder: outDir,
      deleteGlobs: MANAGED_GLOBS,
      message: `idclusters ${params.toolVersion}: ${releasePlan.rows.current} rows, ${releasePlan.identities.current} identities`,
      private: config.release.private,
      ...(tag && { tag }),
      localSha256: releaseSha256,
      ...pushClient,
    });
  }
  return result;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const temporary = `${to}.tmp-${process.pid}`;
  await copyFile(from, temporary);
  await rename(temporary, to);
}

function sameData(listed: Record<string, string>, ours: PublishedState["data"]): boolean {
  const paths = Object.keys(listed);
  if (paths.length === 0 || paths.length !== Object.keys(ours).length) return false;
  return paths.every((p) => ours[p] !== undefined && listed[p] === ours[p]);
}

/** Head commit and data/ files of the target; undefined when the repo does not exist yet. */
async function readTargetHead(
  target: string,
  client: { hubUrl: string; accessToken?: string; fetch: typeof fetch },
): Promise<PreviousRelease | undefined> {
  const repo = { type: "dataset" as const, name: target };
  if (!(await repoExists({ repo, ...client }))) return undefined;
  const info = await datasetInfo({ name: target, additionalFields: ["sha"], ...client });
  const commit = String(info.sha);
  const data: Record<string, string> = {};
  // The whole tree: a repo without data/ answers 404 for the folder.
  for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...client })) {
    if (entry.type === "file" && entry.path.startsWith("data/")) data[entry.path] = entry.lfs?.oid ?? entry.oid ?? "";
  }
  return { commit, data };
}

/**
 * Rewrites labels.npy with stable ids: a provisional export (shards only, DBSCAN's labels) gives
 * the SHA-256 of every image as it will be published; the previous release's shards give theirs.
 */
async function stableLabels(args: {
  inputs: ReleaseInputs;
  config: ReleaseConfig;
  params: RunPipelineParams;
  previous: PreviousRelease;
  settings: ReturnType<typeof resolveHubSettings>;
  sklearnLabels: string;
}): Promise<CardChangelog> {
  const { config, previous, settings } = args;
  const provisional = join(config.workDir, "provisional-release");
  await rm(provisional, { recursive: true, force: true });
  await exportFromConfig({ config, outDir: provisional, hub: args.params.hub, inputs: args.inputs });
  const current = await readReleaseRows({ folder: provisional, split: config.release.split });
  const snap = await pullSnapshot({ repo: config.release.target, revision: previous.commit, include: ["data/**"], ...settings });
  const old = await readReleaseRows({ folder: snap.snapshotPath, split: config.release.split });
  const mapped = mapStableIds({ previous: old, current });
  const labels = readNpy(args.sklearnLabels);
  const source = labels.data as BigInt64Array;
  const out = new BigInt64Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i]! < 0n ? source[i]! : (mapped.mapping.get(source[i]!) ?? source[i]!);
  const temporary = `${workFiles(config.workDir).labels}.tmp-${process.pid}`;
  writeNpy(temporary, { shape: [out.length], data: out });
  await rename(temporary, workFiles(config.workDir).labels);
  await rm(provisional, { recursive: true, force: true });
  log.info(`run: stable ids: ${mapped.kept} kept, ${mapped.fresh} new, ${mapped.retired} retired, ${mapped.merges.length} merge(s), ${mapped.splits.length} split(s)`);
  return {
    kept: mapped.kept,
    fresh: mapped.fresh,
    retired: mapped.retired,
    merges: mapped.merges.map((m) => ({ id: String(m.id), from: m.from.map(String) })),
    splits: mapped.splits.map((s) => ({ id: String(s.id), into: s.into.map(String) })),
  };
}

/** Shards + card + card-inputs.json into `<outDir>.partial`, then swapped in for `outDir`. */
async function exportWithCard(args: {
  inputs: ReleaseInputs;
  config: ReleaseConfig;
  params: RunPipelineParams;
  outDir: string;
  previousCommit: string | null;
  changelog: CardChangelog | null;
  /** Card whose hand-written sections and header keys are kept. */
  existing?: { text: string; name: string };
}): Promise<void> {
  const { config, outDir } = args;
  const partial = `${outDir}.partial`;
  await rm(partial, { recursive: true, force: true });
  const result = await exportFromConfig({ config, outDir: partial, hub: args.params.hub, inputs: args.inputs });
  const card = await import("../card/index.ts");
  const inputs = {
    config,
    data: result.data,
    clusterStats: result.clusterStats as Parameters<typeof card.writeCard>[0]["inputs"]["clusterStats"],
    problems: result.problems,
    models: result.models,
    source: result.source,
    toolVersion: args.params.toolVersion,
    ...(args.previousCommit && { previousCommit: args.previousCommit }),
    ...(args.changelog && { changelog: args.changelog }),
  };
  // Generated blocks are replaced; everything else of the existing card is kept.
  await card.writeCard({ inputs, outDir: partial, ...(args.existing && { existingCard: args.existing.text, existingName: args.existing.name }) });
  await card.saveCardInputs({ inputs, path: join(partial, "card-inputs.json") });
  log.info(`run: export: ${result.data.numExamples} rows in ${result.data.shards.length} shard(s)`);
  await rm(outDir, { recursive: true, force: true });
  await rename(partial, outDir);
}
