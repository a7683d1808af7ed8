/**
 * `idclusters review --config <file> [--port N] [--static DIR] [--reviewer NAME]`: a page to check
 * and correct the identities of the work dir's last build (issue #13). Serves it on 127.0.0.1
 * until Ctrl-C, printing the URL with its per-launch token, or writes a static copy. Decisions go
 * to the config's `clustering.overrides` file (default: `<config>.overrides.yaml` beside it, which
 * the config must then name for `run` to apply).
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import type { CommandModule } from "yargs";
import { log } from "../../common/logger.ts";
import { startProgress, type Progress } from "../../common/progress.ts";
import { loadConfig, type ReleaseConfig } from "../../config/index.ts";
import { readOverrides, type ReadOverridesResult } from "../../identities/index.ts";
import { sourceIncludeGlobs } from "../../pipeline/pull-inputs.ts";
import { workFiles } from "../../pipeline/work-files.ts";
import type { ImageSource, ImageTransform } from "../../source/index.ts";
import type { ReviewData } from "../../review/index.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { ReviewArgs } from "../options/review.ts";

function reviewerOf(args: ReviewArgs): string {
  const given = args.reviewer ?? process.env.IDCLUSTERS_REVIEWER;
  if (given && given.trim() !== "") return given.trim();
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

function transformOf(config: ReleaseConfig): ImageTransform | undefined {
  const images = config.images;
  if (images.transform !== "resize" || images.size === undefined) return undefined;
  return { size: images.size, fit: images.fit, kernel: images.kernel, format: images.format, quality: images.quality };
}

/** A path as the user should read it: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !rel.startsWith(sep) ? rel : path;
}

/** The config's source, opened as the embed stage opened it (a Hub snapshot comes from the cache). */
async function openSource(config: ReleaseConfig, args: ReviewArgs): Promise<ImageSource> {
  const { openLocalSource } = await import("../../embed/index.ts");
  const location = config.source.location;
  let path: string;
  if (location.kind === "local") path = location.path;
  else {
    const { pullSnapshot, resolveHubSettings } = await import("../../hub/index.ts");
    const pulled = await pullSnapshot({
      repo: location.repo,
      revision: location.revision,
      include: sourceIncludeGlobs(config),
      exclude: config.source.exclude,
      ...resolveHubSettings({ hubUrl: args.hubUrl, token: args.token, cacheDir: args.cacheDir }),
    });
    path = pulled.snapshotPath;
  }
  return openLocalSource({ path, format: config.source.format, split: config.source.split, imageColumn: config.source.imageColumn });
}

export const reviewCommand: CommandModule<GlobalArgs, ReviewArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/review.ts
  handler: async (args) => {
    const review = await import("../../review/index.ts");
    const config = await loadConfig({ file: args.config, workDir: args.workDir });
    const files = workFiles(config.workDir);
    const buildCommand = `idclusters run --config ${args.config}`;

    const location = review.defaultOverridesPath(config.file, config.clustering.overrides);
    const configured = config.clustering.overrides !== undefined;
    // A broken decisions file is the user's to fix before anything starts (file:line in the message).
    await readOverrides(location.path, { missingIsEmpty: true, key: "clustering.overrides" });
    if (!configured) {
      log.warn(
        `review: ${config.file} names no clustering.overrides: decisions go to ${shown(location.path)}; ` +
          `add "clustering.overrides: ${location.configValue}" to the config for idclusters run to apply them`,
      );
    }

    const started = performance.now();
    // `idclusters cluster --config` leaves DBSCAN's labels in labels.npy; `run` keeps them apart from the published ones.
    const labelsPath = existsSync(files.sklearnLabels) || !existsSync(files.labels) ? files.sklearnLabels : files.labels;
    const build = await review.loadReviewBuild({
      embeddingsPath: files.embeddings,
      indexPath: files.index,
      labelsPath,
      labelRowsPath: files.labelRows,
      statsPath: files.stats,
      buildCommand,
    });
    if (build.eps !== config.clustering.eps) {
      log.warn(`review: the work dir was clustered with eps ${build.eps}, the config says ${config.clustering.eps}; reviewing the build as it is (run ${buildCommand} to rebuild)`);
    }

    let progress: Progress | undefined;
    let shownDone = 0;
    const thumbs = await review.buildThumbnailCache({
      root: join(config.workDir, "cache", "review-thumbnails"),
      wanted: build.rows.sha256.map((sha256, i) => {
        const box = Array.from(build.rows.box.subarray(i * 4, i * 4 + 4));
        return { sourceRow: build.rows.sourceRow[i]!, sha256, box: box.every(Number.isFinite) ? (box as [number, number, number, number]) : null };
      }),
      openSource: () => openSource(config, args),
      transform: transformOf(config),
      detectorKey: JSON.stringify({ ...config.detector, license: undefined }),
      onProgress: (done, total) => {
        progress ??= startProgress({ label: "review: thumbnails", total, unit: "images" });
        progress.tick(done - shownDone);
        shownDone = done;
      },
    });
    progress?.stop();
    for (const f of thumbs.failed.slice(0, 5)) log.warn(`review: no thumbnail for source row ${f.sourceRow}: ${f.reason}`);
    if (thumbs.failed.length > 5) log.warn(`review: ${thumbs.failed.length - 5} more rows without a thumbnail`);
    log.info(`review: ${build.labels.length} images, thumbnails in ${shown(thumbs.dir)} (${thumbs.made} made${thumbs.made ? `, ${(thumbs.bytesMade / 1e6).toFixed(1)} MB` : ""}, ${thumbs.reused} reused)`);

    const reviewer = reviewerOf(args);
    const dataFor = (mode: ReviewData["mode"]) => (overrides: ReadOverridesResult) =>
      review.buildReviewData({
        build,
        overrides,
        mode,
        name: config.name,
        reviewer,
        overridesFile: { shown: shown(location.path), configured, configValue: location.configValue },
        thumbs: { base: "thumbs/", ext: "webp", size: thumbs.size },
      });

    if (args.static !== undefined) {
      const dir = resolve(args.static);
      const data = await dataFor("static")(await readOverrides(location.path, { missingIsEmpty: true }));
      let copied: Progress | undefined;
      const written = await review.writeStaticReview({
        dir,
        data,
        thumbnailOf: thumbs.pathOf,
        onProgress: (done, total) => {
          copied ??= startProgress({ label: "review: copy thumbnails", total, unit: "files" });
          copied.tick();
        },
      });
      copied?.stop();
      log.info(`review: static copy in ${shown(dir)} (${written.files} files, ${(written.bytes / 1e6).toFixed(1)} MB); its Save downloads the decisions file: put it at ${shown(location.path)}`);
      process.stdout.write(args.json ? JSON.stringify({ index: written.index, files: written.files, bytes: written.bytes, overrides: location.path, configured }) + "\n" : written.index + "\n");
      return;
    }

    const images = new Map(build.rows.sha256.map((sha, i) => [sha, build.rows.fileName[i]!]));
    const server = await review.serveReview({
      port: args.port,
      overridesPath: location.path,
      dataFor: dataFor("server"),
      images,
      thumbnailOf: thumbs.pathOf,
      reviewer,
      onSave: ({ decisions }) => log.info(`review: saved ${decisions} decision(s) to ${shown(location.path)}`),
    });
    // Rank now, so the page's first request finds the data ready.
    const warm = await fetch(`${server.url.replace("/?", "/api/data?")}`).then((r) => r.arrayBuffer()).catch(() => undefined);
    log.info(`review: ready in ${((performance.now() - started) / 1000).toFixed(1)} s${warm ? "" : " (data not prepared)"}; open the URL below in a browser on this machine; Ctrl-C stops`);
    process.stdout.write(args.json ? JSON.stringify({ url: server.url, port: server.port, overrides: location.path, configured }) + "\n" : server.url + "\n");

    await new Promise<void>((resolveStop) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        log.info(`review: ${signal}: stopping (saved decisions stay in ${shown(location.path)})`);
        void server.close().then(resolveStop);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  },
};
