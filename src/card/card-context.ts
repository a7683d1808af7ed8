/**
 * The values the card templates see. Every number is computed here from `CardInputs` and handed
 * over already formatted, so the templates only place text (they have no arithmetic to get wrong,
 * and @huggingface/jinja has no number filters anyway) and the card's bytes depend only on the data.
 */
import type { HfFeature } from "../release/index.ts";
import type { CardInputs, CardModel, CardProblem } from "./card-inputs.ts";
import { formatBytes, formatDecimal, formatInteger, formatPercent } from "./format-number.ts";

/** Rows of the dropped-images table shown in the card; the rest are counted, not listed. */
export const MAX_DROPPED_ROWS = 50;
/** Distinct identity sizes listed one per row; larger sizes share the last row. */
export const MAX_SIZE_ROWS = 20;

/** Repo-relative paths of the plots the card links to. */
export const PLOT_PATHS = { nnSimilarity: "assets/nn_similarity.svg", clusterSizes: "assets/cluster_sizes.svg" } as const;

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
      return "identity label: images with the same id were clustered as the same person";
    case "cluster_size":
      return "number of images in the release with this `cluster_id`";
    default:
      return "copied from the source dataset";
  }
}

function hubLink(repo: string, type: "datasets" | "models", revision?: string): string {
  const base = type === "datasets" ? `https://huggingface.co/datasets/${repo}` : `https://huggingface.co/${repo}`;
  return `[${repo}](${revision ? `${base}/tree/${revision}` : base})`;
}

function modelRow(model: CardModel) {
  const where = model.repo
    ? `${hubLink(model.repo, "models", model.revision)}${model.file ? ` \`${markdownCell(model.file)}\`` : ""}`
    : model.path
      ? `local file \`${markdownCell(model.path.split(/[\\/]/).pop() ?? model.path)}\``
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

function droppedContext(problems: readonly CardProblem[], inputs: CardInputs) {
  const sorted = [...problems].sort((a, b) => a.row - b.row);
  const stats = inputs.clusterStats;
  const noiseDropped = stats.noise_policy === "drop" ? stats.input_rows - stats.rows : 0;
  return {
    total: formatInteger(problems.length),
    // Face policy `keep`: rows without a face stay in the release, unlabelled.
    kept: inputs.config.faces.noFace === "keep",
    any: problems.length > 0 || noiseDropped > 0,
    by_status: countBy(problems, (p) => p.status).map(({ key, count }) => ({
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
      return "noise images are kept with `cluster_id` -1 (no identity)";
    case "drop":
      return "noise images are left out of the release";
    default:
      return policy;
  }
}

export function cardContext(inputs: CardInputs) {
  const { config, data, clusterStats: stats } = inputs;
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
    identities: formatInteger(stats.identities),
    split: data.split,
    images_transform:
      config.images.transform === "keep"
        ? "image bytes unchanged"
        : `images resized to ${config.images.size} x ${config.images.size} and encoded as ${config.images.format.toUpperCase()}`,
    source: {
      name: inputs.source.repo ?? (inputs.source.path ? inputs.source.path.split(/[\\/]/).pop() ?? inputs.source.path : "[More Information Needed]"),
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
    stats: {
      rows: formatInteger(stats.rows),
      input_rows: formatInteger(stats.input_rows),
      identities: formatInteger(stats.identities),
      clusters: formatInteger(stats.clusters),
      noise_rows: formatInteger(stats.noise_rows),
      multi_image_clusters: formatInteger(stats.multi_image_clusters),
      singletons: formatInteger(stats.singletons),
      largest_cluster: formatInteger(stats.largest_cluster),
      images_in_multi: formatInteger(stats.rows - stats.singletons),
      share_in_multi: stats.rows > 0 ? formatPercent((stats.rows - stats.singletons) / stats.rows) : "0.0%",
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
      share_within_eps: formatPercent(nn.share_within_eps),
      non_noise_share: formatPercent(nn.non_noise_share),
      bin_width: histogram ? String(histogram.bin_width) : "",
      plot: PLOT_PATHS.nnSimilarity,
    },
    sizes: { rows: sizesContext(stats.size_distribution), plot: PLOT_PATHS.clusterSizes },
    dropped: droppedContext(inputs.problems, inputs),
    models: models.map(modelRow),
    tool_version: inputs.toolVersion,
    previous_commit: inputs.previousCommit ?? "",
    changelog: inputs.changelog
      ? {
          ...inputs.changelog,
          merges: inputs.changelog.merges.map((m) => ({ id: m.id, from: m.from.join(", ") })),
          splits: inputs.changelog.splits.map((m) => ({ id: m.id, into: m.into.join(", ") })),
        }
      : null,
  };
}

export type CardContext = ReturnType<typeof cardContext>;
