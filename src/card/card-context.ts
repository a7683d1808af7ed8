/**
 * The values the card templates see. Every number is computed here from `CardInputs` and handed
 * over already formatted, so the templates only place text (they have no arithmetic to get wrong,
 * and @huggingface/jinja has no number filters anyway) and the card's bytes depend only on the data.
 */
import type { HfFeature, ReleaseLabelCounts } from "../release/index.ts";
import { publicCardInputs } from "./card-inputs.ts";
import type { CardInputs, CardModel, CardProblem } from "./card-inputs.ts";
import { formatBytes, formatDecimal, formatInteger, formatPercent } from "./format-number.ts";

/** Rows of the dropped-images table shown in the card; the rest are counted, not listed. */
export const MAX_DROPPED_ROWS = 50;
/** Distinct identity sizes listed one per row; larger sizes share the last row. */
export const MAX_SIZE_ROWS = 20;

/** Repo-relative paths of the plots the card links to. */
export const PLOT_PATHS = { nnSimilarity: "assets/nn_similarity.svg", clusterSizes: "assets/cluster_sizes.svg" } as const;

/** Every file the card stage may write under assets/: a release owns these on the Hub (and deletes them when stale). */
export const CARD_ASSET_PATHS: readonly string[] = Object.values(PLOT_PATHS);

/** Makes text safe inside a Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ").replace(/`/g, "\\`").trim();
}

function featureType(feature: HfFeature): string {
  switch (feature._type) {
    case "Image":
      return "Image";
    case "Value":
      return `Value(${feature.dtype})`;
    case "ClassLabel":
      return `ClassLabel(${feature.names.join(", ")})`;
  }
}

function featureDescription(name: string, inputs: CardInputs): string {
  const images = inputs.config.images;
  switch (name) {
    case "image":
      return images.transform === "keep"
        ? "the source image, bytes unchanged"
        : `the source image resized to ${images.size} x ${images.size} (${images.fit}, ${images.kernel}), ${images.format.toUpperCase()}${images.format === "png" ? "" : ` quality ${images.quality}`}`;
    case "file_name":
      return "file name of the image in the source";
    case "cluster_id":
      return (
        "identity label: images with the same id were clustered as the same person" +
        (inputs.config.clustering.noise === "keep" ? "; -1: DBSCAN noise (no identity)" : "") +
        (inputs.config.faces.noFace === "keep" ? "; null: no face detected (never clustered)" : "")
      );
    case "cluster_size":
      return (
        "number of images in the release with this `cluster_id`" +
        (inputs.config.clustering.noise === "keep" ? "; 1 for noise (-1)" : "") +
        (inputs.config.faces.noFace === "keep" ? "; null without a face" : "")
      );
    default:
      return "copied from the source dataset";
  }
}

function hubLink(repo: string, type: "datasets" | "models", revision?: string): string {
  const base = type === "datasets" ? `https://huggingface.co/datasets/${repo}` : `https://huggingface.co/${repo}`;
  return `[${repo}](${revision ? `${base}/tree/${revision}` : base})`;
}

function modelRow(model: CardModel) {
  // publicCardInputs has turned a local `path` into its base name in `file`.
  const where = model.repo
    ? `${hubLink(model.repo, "models", model.revision)}${model.file ? ` \`${markdownCell(model.file)}\`` : ""}`
    : model.file
      ? `local file \`${markdownCell(model.file)}\``
      : "[More Information Needed]";
  return {
    role: model.role,
    kind: model.kind ?? "",
    where,
    revision: model.revision ? `\`${model.revision}\`` : "",
    sha256: `\`${model.sha256}\``,
    license: model.license ? markdownCell(model.license) : "[More Information Needed]",
  };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): { key: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  // Most frequent first, ties by name, so the order does not depend on the input order.
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, count]) => ({ key: k, count }));
}

/**
 * The rows by `cluster_id` (release/label-counts.ts), as the release writer counted them and
 * `verify` recounts them from the shards. Inputs saved before the writer counted them: derived from
 * the cluster statistics and the policies.
 */
export function releaseCounts(inputs: CardInputs): ReleaseLabelCounts {
  if (inputs.data.labels) return inputs.data.labels;
  const stats = inputs.clusterStats;
  const noiseRows = stats.noise_policy === "keep" ? dbscanCounts(inputs).noise : 0;
  const noFaceRows = inputs.config.faces.noFace === "keep" ? inputs.problems.filter((p) => p.status === "no_face").length : 0;
  return {
    identities: stats.identities,
    identityRows: inputs.data.numExamples - noiseRows - noFaceRows,
    noiseRows,
    noFaceRows,
    sizeDistribution: stats.size_distribution,
  };
}

/**
 * What DBSCAN saw: the images with a face and its noise among them. Under `faces.no_face: keep`
 * the embed stage writes an all-zero embedding row for every source row without an embedding (no
 * face, or unreadable: the `problems`, and the images without a face the review excluded, which
 * the problems no longer list), the cluster stage clusters them with the rest and, with eps < 1,
 * labels each of them noise; they are no faces, so they are taken out here.
 */
export function dbscanCounts(inputs: CardInputs): { faces: number; noise: number; withoutEmbedding: number } {
  const stats = inputs.clusterStats;
  const zeroRows = inputs.problems.length + (inputs.review?.excludedWithoutFace ?? 0);
  const withoutEmbedding = inputs.config.faces.noFace === "keep" ? Math.min(zeroRows, stats.noise_rows, stats.input_rows) : 0;
  return { faces: stats.input_rows - withoutEmbedding, noise: stats.noise_rows - withoutEmbedding, withoutEmbedding };
}

function droppedContext(problems: readonly CardProblem[], inputs: CardInputs) {
  const sorted = [...problems].sort((a, b) => a.row - b.row);
  const noiseDropped = inputs.clusterStats.noise_policy === "drop" ? dbscanCounts(inputs).noise : 0;
  const excluded = inputs.review?.excludedImages ?? 0;
  // Face policy `keep`: rows without a face stay in the release with a null cluster_id; rows that
  // could not be read or decoded are never in it.
  const keptNoFace = inputs.config.faces.noFace === "keep" ? problems.filter((p) => p.status === "no_face").length : 0;
  const dropped = problems.filter((p) => !(keptNoFace > 0 && p.status === "no_face"));
  return {
    total: formatInteger(dropped.length),
    no_face_kept: formatInteger(keptNoFace),
    any: problems.length > 0 || noiseDropped > 0 || excluded > 0,
    listed: problems.length > 0,
    by_status: countBy(dropped, (p) => p.status).map(({ key, count }) => ({
      status: key === "no_face" ? "no face detected" : "could not be read or decoded",
      count: formatInteger(count),
    })),
    by_reason: countBy(problems, (p) => p.reason)
      .slice(0, 10)
      .map(({ key, count }) => ({ reason: markdownCell(key), count: formatInteger(count) })),
    more_reasons: formatInteger(Math.max(0, countBy(problems, (p) => p.reason).length - 10)),
    rows: sorted.slice(0, MAX_DROPPED_ROWS).map((p) => ({
      row: String(p.row),
      file_name: markdownCell(p.fileName),
      status: p.status,
      reason: markdownCell(p.reason),
    })),
    not_listed: problems.length > MAX_DROPPED_ROWS ? formatInteger(problems.length - MAX_DROPPED_ROWS) : "",
    noise_dropped: noiseDropped > 0 ? formatInteger(noiseDropped) : "",
    excluded: excluded > 0 ? formatInteger(excluded) : "",
  };
}

function sizesContext(distribution: Record<string, number>) {
  const entries = Object.entries(distribution)
    .map(([size, count]) => [Number(size), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const listed = entries.length > MAX_SIZE_ROWS ? entries.slice(0, MAX_SIZE_ROWS - 1) : entries;
  const rest = entries.slice(listed.length);
  const rows = listed.map(([size, count]) => ({ size: formatInteger(size), identities: formatInteger(count), images: formatInteger(size * count) }));
  if (rest.length > 0) {
    const first = rest[0]![0];
    rows.push({
      size: `${formatInteger(first)} to ${formatInteger(rest[rest.length - 1]![0])}`,
      identities: formatInteger(rest.reduce((sum, [, c]) => sum + c, 0)),
      images: formatInteger(rest.reduce((sum, [s, c]) => sum + s * c, 0)),
    });
  }
  return rows;
}

function noisePolicyText(policy: string): string {
  switch (policy) {
    case "singleton":
      return "every noise image (no neighbour within eps) becomes its own identity, numbered after the last cluster in row order";
    case "keep":
      return "noise images are kept with `cluster_id` -1 and `cluster_size` 1 (no identity)";
    case "drop":
      return "noise images are left out of the release";
    default:
      return policy;
  }
}

/** Size distribution -> identities with 2+ images, with one, the largest, images in the 2+ ones. */
function sizeFacts(distribution: Record<string, number>) {
  let multi = 0;
  let singletons = 0;
  let largest = 0;
  let imagesInMulti = 0;
  for (const [size, count] of Object.entries(distribution)) {
    const n = Number(size);
    if (n === 1) singletons += count;
    else if (n > 1) {
      multi += count;
      imagesInMulti += n * count;
    }
    if (count > 0 && n > largest) largest = n;
  }
  return { multi, singletons, largest, imagesInMulti };
}

/** The review's numbers (issue #13), formatted; null without a review, so a card without one is unchanged. */
function reviewContext(inputs: CardInputs) {
  const review = inputs.review;
  if (!review) return null;
  const { merge, split, move, exclude, check } = review.applied;
  return {
    checked: formatInteger(review.checkedIdentities),
    applied: formatInteger(merge + split + move + exclude + check),
    merges: formatInteger(merge),
    splits: formatInteger(split),
    moves: formatInteger(move),
    splits_moves: formatInteger(split + move),
    exclusions: formatInteger(exclude),
    checks: formatInteger(check),
    excluded_images: formatInteger(review.excludedImages),
    problems: formatInteger(review.problems),
  };
}

const MANUAL_TEXT = {
  merge: "manual merge",
  split: "manual split",
  move: "manual move",
  exclude: "manual exclusion",
  check: "manual check",
} as const;

/**
 * The changelog as the card shows it: with a review, its new decisions listed on their own and
 * stable ids' merges and splits they explain left out of the clustering's list; the decisions
 * withdrawn since the previous release listed too, with the merges and splits undoing them made.
 */
function changelogContext(changelog: CardInputs["changelog"]) {
  if (!changelog) return null;
  const ids = (list: string[]) => list.map((id) => `\`${id}\``).join(", ");
  const withdrawn = changelog.withdrawn ?? [];
  return {
    ...changelog,
    withdrawn: withdrawn.length > 0 ? { count: formatInteger(withdrawn.length), ids: ids(withdrawn.map(markdownCell)) } : null,
    undone: [
      ...changelog.merges.filter((m) => m.undone).map((m) => `merge: identity \`${m.id}\` now holds images of previous identities ${m.from.join(", ")}`),
      ...changelog.splits.filter((s) => s.undone).map((s) => `split: images of previous identity \`${s.id}\` are now in identities ${s.into.join(", ")}`),
    ],
    merges: changelog.merges.filter((m) => !m.manual).map((m) => ({ id: m.id, from: m.from.join(", ") })),
    splits: changelog.splits.filter((m) => !m.manual).map((m) => ({ id: m.id, into: m.into.join(", ") })),
    manual: (changelog.manual ?? []).map((c) => ({
      decision: markdownCell(c.decision),
      what: MANUAL_TEXT[c.action],
      images: formatInteger(c.images),
      text:
        c.action === "merge"
          ? `identity ${ids(c.into)} now holds images of previous identities ${ids(c.from)}`
          : c.action === "split"
            ? `${formatInteger(c.images)} image(s) of previous identity ${ids(c.from)} now form identity ${ids(c.into)}`
            : c.action === "move"
              ? `${formatInteger(c.images)} image(s) moved into identity ${ids(c.into)} (previous identities ${ids(c.from)})`
              : c.action === "exclude"
                ? `${formatInteger(c.images)} image(s) left the release`
                : `identity ${ids(c.into)} checked by a person`,
    })),
    reviewed: changelog.manual !== undefined,
  };
}

/** A share of `total` rounded to 1e-6 as the cluster statistics store shares, as a share of `of`. */
function reshare(share: number, total: number, of: number): number {
  return of > 0 ? Math.round(share * total) / of : 0;
}

export function cardContext(cardInputs: CardInputs) {
  // Only what may be published: no folder of the build machine.
  const inputs = { ...publicCardInputs(cardInputs), config: cardInputs.config };
  const { config, data, clusterStats: stats } = inputs;
  const counts = releaseCounts(inputs);
  const dbscan = dbscanCounts(inputs);
  const sizes = sizeFacts(counts.sizeDistribution);
  const card = config.release.card;
  const nn = stats.nearest_neighbor;
  const histogram = nn.histogram;
  const modes = nn.modes ?? [];
  const similarity = (x: number) => formatDecimal(x, 3);
  const models = [...inputs.models].sort((a, b) => (a.role === b.role ? 0 : a.role === "detector" ? -1 : 1));
  const detector = config.detector;

  return {
    pretty_name: card.prettyName ?? config.name,
    description: card.description ?? "",
    license: card.license ?? "",
    license_name: card.licenseName ?? "",
    license_link: card.licenseLink ?? "",
    target: config.release.target,
    images: formatInteger(data.numExamples),
    identities: formatInteger(counts.identities),
    noise_images: counts.noiseRows > 0 ? formatInteger(counts.noiseRows) : "",
    no_face_images: counts.noFaceRows > 0 ? formatInteger(counts.noFaceRows) : "",
    split: data.split,
    images_transform:
      config.images.transform === "keep"
        ? "image bytes unchanged"
        : `images resized to ${config.images.size} x ${config.images.size} and encoded as ${config.images.format.toUpperCase()}`,
    source: {
      name: inputs.source.repo ?? inputs.source.name ?? "[More Information Needed]",
      link: inputs.source.repo ? hubLink(inputs.source.repo, "datasets", inputs.source.revision) : "",
      repo: inputs.source.repo ?? "",
      revision: inputs.source.revision ?? "",
      local: !inputs.source.repo,
      split: inputs.source.split,
    },
    features: data.features.map(([name, feature]) => ({ name, type: featureType(feature), description: featureDescription(name, inputs) })),
    shards: formatInteger(data.shards.length),
    num_examples: formatInteger(data.numExamples),
    download_size: formatBytes(data.downloadSize),
    dataset_size: formatBytes(data.datasetSize),
    detector: {
      kind: detector.kind,
      name: detector.kind === "scrfd" ? "SCRFD" : detector.kind === "yunet" ? "YuNet" : detector.kind,
      input_size: formatInteger(detector.inputSize),
      score_threshold: String(detector.scoreThreshold),
      nms_threshold: String(detector.nmsThreshold),
    },
    recognizer: { dtype: config.recognizer.dtype },
    clustering: {
      eps: String(stats.eps),
      min_samples: formatInteger(stats.min_samples),
      eps_similarity: similarity(1 - stats.eps),
      noise_policy: stats.noise_policy,
      noise_text: noisePolicyText(stats.noise_policy),
      dtype: stats.dtype,
    },
    // The release's rows (counted from the shards' cluster_id), which add up to `images`, and what
    // DBSCAN saw (the images with a face).
    stats: {
      images: formatInteger(data.numExamples),
      identities: formatInteger(counts.identities),
      identity_rows: formatInteger(counts.identityRows),
      noise_rows: formatInteger(counts.noiseRows),
      no_face_rows: formatInteger(counts.noFaceRows),
      faces: formatInteger(dbscan.faces),
      clusters: formatInteger(stats.clusters),
      dbscan_noise: formatInteger(dbscan.noise),
      multi_image_clusters: formatInteger(sizes.multi),
      singletons: formatInteger(sizes.singletons),
      largest_cluster: formatInteger(sizes.largest),
      images_in_multi: formatInteger(sizes.imagesInMulti),
      share_in_multi: data.numExamples > 0 ? formatPercent(sizes.imagesInMulti / data.numExamples) : "0.0%",
      ambiguous_pairs: formatInteger(stats.ambiguous_pairs?.length ?? 0),
    },
    nn: {
      has_histogram: histogram !== undefined,
      rows: histogram ? formatInteger(histogram.rows) : "",
      exact_duplicates: formatInteger(nn.exact_duplicates ?? 0),
      two_modes: modes.length >= 2,
      mode_low: modes.length >= 2 ? similarity(modes[0]!) : "",
      mode_high: modes.length >= 2 ? similarity(modes[1]!) : modes.length === 1 ? similarity(modes[0]!) : "",
      one_mode: modes.length === 1,
      valley: nn.valley == null ? "" : similarity(nn.valley),
      otsu: nn.otsu_threshold == null ? "" : similarity(nn.otsu_threshold),
      suggested_eps: nn.suggested_eps == null ? "" : formatDecimal(nn.suggested_eps, 3),
      // Shares of the images with a face (the rows without an embedding are not DBSCAN's images).
      share_within_eps: formatPercent(dbscan.withoutEmbedding > 0 ? reshare(nn.share_within_eps, stats.input_rows, dbscan.faces) : nn.share_within_eps),
      non_noise_share: formatPercent(dbscan.withoutEmbedding > 0 ? (dbscan.faces > 0 ? (dbscan.faces - dbscan.noise) / dbscan.faces : 0) : nn.non_noise_share),
      bin_width: histogram ? String(histogram.bin_width) : "",
      plot: PLOT_PATHS.nnSimilarity,
    },
    sizes: { rows: sizesContext(counts.sizeDistribution), plot: PLOT_PATHS.clusterSizes },
    dropped: droppedContext(inputs.problems, inputs),
    models: models.map(modelRow),
    tool_version: inputs.toolVersion,
    previous_commit: inputs.previousCommit ?? "",
    changelog: changelogContext(inputs.changelog),
    review: reviewContext(inputs),
  };
}

export type CardContext = ReturnType<typeof cardContext>;
