/**
 * The card's plots as SVG, drawn with vega-lite compiled to vega and rendered headless in Node
 * (`renderer: "none"` + `toSVG()`, no canvas, no browser).
 *
 * Deterministic by construction: data inline (no loader, no network), no timestamps, and text is
 * measured by vega's built-in estimate (font size x character count) rather than by a canvas, so
 * the SVG bytes do not depend on fonts or native packages installed on the machine.
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import type { ClusterStats } from "./card-inputs.ts";
import { PLOT_PATHS } from "./card-context.ts";
import { formatDecimal } from "./format-number.ts";

export interface CardPlot {
  /** Repo-relative path the card links to (`assets/nn_similarity.svg`). */
  path: string;
  svg: string;
}

const WIDTH = 560;
const HEIGHT = 260;
const FONT = "Helvetica, Arial, sans-serif";

async function toSvg(spec: TopLevelSpec): Promise<string> {
  // A canvas (the optional `canvas` package) would measure text with the machine's fonts.
  // (`textMetrics` is exported at run time but missing from vega's typings.)
  (vega as unknown as { textMetrics: { canvas(use: boolean): void } }).textMetrics.canvas(false);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return (await view.toSVG()) + "\n";
  } finally {
    view.finalize();
  }
}

const config = { font: FONT, view: { stroke: null }, axis: { grid: true, gridOpacity: 0.4 } } as const;

/** Histogram of nearest-neighbour similarity with the eps threshold, the valley and the modes. */
export function nnSimilaritySpec(stats: ClusterStats): TopLevelSpec | undefined {
  const nn = stats.nearest_neighbor;
  const histogram = nn.histogram;
  if (!histogram) return undefined;
  const { counts, start, bin_width: width } = histogram;
  // Only the occupied range (plus the threshold), not all of [-1, 1].
  const occupied = counts.flatMap((c, k) => (c > 0 ? [k] : []));
  const threshold = 1 - stats.eps;
  const edge = (k: number) => Number(formatDecimal(start + k * width, 6));
  const firstBin = Math.max(0, Math.min(occupied[0] ?? 0, Math.floor((threshold - start) / width)) - 1);
  const lastBin = Math.min(counts.length - 1, Math.max(occupied[occupied.length - 1] ?? 0, Math.floor((threshold - start) / width)) + 1);
  const bins = counts.slice(firstBin, lastBin + 1).map((count, i) => ({ from: edge(firstBin + i), to: edge(firstBin + i + 1), count }));
  const markers = [
    // Labels on two rows so the eps and valley labels cannot overlap when the lines are close.
    { x: Number(formatDecimal(threshold, 6)), label: `eps threshold ${formatDecimal(threshold, 3)}`, kind: "eps", labelY: 12 },
    ...(nn.valley == null ? [] : [{ x: nn.valley, label: `valley ${formatDecimal(nn.valley, 3)}`, kind: "valley", labelY: 28 }]),
    ...(nn.modes ?? []).map((m) => ({ x: m, label: `mode ${formatDecimal(m, 3)}`, kind: "mode", labelY: 0 })),
  ];
  const domain = [edge(firstBin), edge(lastBin + 1)];
  const x = { type: "quantitative" as const, scale: { domain, nice: false, zero: false } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "Similarity of each image to its nearest neighbour", font: FONT },
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    config,
    layer: [
      {
        data: { values: bins },
        mark: { type: "bar", orient: "vertical", color: "#4c78a8", binSpacing: 0 },
        encoding: {
          x: { field: "from", ...x, title: "cosine similarity to the nearest other image" },
          x2: { field: "to" },
          y: { field: "count", type: "quantitative", title: "images" },
        },
      },
      {
        data: { values: markers },
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          x: { field: "x", ...x },
          color: {
            field: "kind",
            type: "nominal",
            scale: { domain: ["eps", "valley", "mode"], range: ["#e45756", "#54a24b", "#b279a2"] },
            legend: { title: null, orient: "right" },
          },
          strokeDash: { field: "kind", type: "nominal", scale: { domain: ["eps", "valley", "mode"], range: [[1, 0], [6, 3], [2, 2]] } },
        },
      },
      {
        data: { values: markers.filter((m) => m.kind !== "mode") },
        mark: { type: "text", align: "left", dx: 4, dy: -4, baseline: "bottom", fontSize: 11 },
        encoding: { x: { field: "x", ...x }, y: { field: "labelY", type: "quantitative", scale: null }, text: { field: "label" } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Number of identities per identity size (symlog scale: singletons outnumber large clusters by far),
 * from the release's rows (`data.labels`) when given, else from the cluster statistics.
 */
export function clusterSizesSpec(stats: ClusterStats, sizeDistribution: Record<string, number> = stats.size_distribution): TopLevelSpec {
  const values = Object.entries(sizeDistribution)
    .map(([size, identities]) => ({ size: Number(size), identities }))
    .sort((a, b) => a.size - b.size);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "Identities by number of images", font: FONT },
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    config,
    data: { values },
    mark: { type: "bar", color: "#4c78a8" },
    encoding: {
      x: { field: "size", type: "ordinal", title: "images per identity", sort: "ascending", axis: { labelOverlap: true, labelAngle: 0 } },
      // symlog, not log: bars start at 0, which a log scale cannot show.
      y: { field: "identities", type: "quantitative", title: "identities (symlog scale)", scale: { type: "symlog" } },
      tooltip: [{ field: "size" }, { field: "identities" }],
    },
  } as TopLevelSpec;
}

/** Every plot the card links to. The histogram plot is absent when the stats carry no histogram. */
export async function renderPlots(stats: ClusterStats, sizeDistribution?: Record<string, number>): Promise<CardPlot[]> {
  const plots: CardPlot[] = [];
  const nn = nnSimilaritySpec(stats);
  if (nn) plots.push({ path: PLOT_PATHS.nnSimilarity, svg: await toSvg(nn) });
  plots.push({ path: PLOT_PATHS.clusterSizes, svg: await toSvg(clusterSizesSpec(stats, sizeDistribution)) });
  return plots;
}
