/**
 * Contact sheets for reviewing a release's identity labels by eye: PNG pages with one row per
 * cluster (its id, size and, when embeddings are at hand, its weakest internal link), showing up to
 * `perCluster` faces. Clusters are chosen largest first, then borderline merges (the clusters whose
 * weakest link is closest to the eps threshold: one more near-threshold pair could have split them),
 * then a seeded random sample of the rest, so two runs pick the same clusters.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import type { OverlayOptions } from "sharp";
import { mulberry32 } from "../common/seeded-random.ts";

export interface SheetCluster {
  clusterId: number;
  size: number;
  /** Least, over members, of the best similarity to another member (null: unknown or a singleton). */
  weakestLink: number | null;
  /** Encoded images of (up to perCluster) members, in release order. */
  images: Uint8Array[];
}

export interface ChooseClustersParams {
  /** Every cluster: id, size, weakest link. */
  clusters: { clusterId: number; size: number; weakestLink: number | null }[];
  /** How many to show. */
  count: number;
  /** Seed of the random fill. */
  seed?: number;
}

export interface ChosenCluster {
  clusterId: number;
  size: number;
  weakestLink: number | null;
  why: "largest" | "borderline" | "sample";
}

/** Largest first (half the sheet), then borderline (lowest weakest link), then a seeded sample. */
export function chooseClusters(params: ChooseClustersParams): ChosenCluster[] {
  const chosen: ChosenCluster[] = [];
  const taken = new Set<number>();
  const take = (c: ChooseClustersParams["clusters"][number], why: ChosenCluster["why"]) => {
    if (chosen.length >= params.count || taken.has(c.clusterId)) return;
    taken.add(c.clusterId);
    chosen.push({ ...c, why });
  };
  const bySize = [...params.clusters].sort((a, b) => b.size - a.size || a.clusterId - b.clusterId);
  const largest = Math.ceil(params.count / 2);
  for (const c of bySize.slice(0, largest)) take(c, "largest");
  const borderline = params.clusters
    .filter((c) => c.weakestLink !== null && c.size >= 2)
    .sort((a, b) => a.weakestLink! - b.weakestLink! || a.clusterId - b.clusterId);
  for (const c of borderline) take(c, "borderline");
  const random = mulberry32(params.seed ?? 1);
  const rest = bySize.filter((c) => !taken.has(c.clusterId));
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  for (const c of rest) take(c, "sample");
  return chosen;
}

export interface WriteContactSheetsParams {
  clusters: (SheetCluster & { why?: string })[];
  /** Folder for `sheet-001.png`, ... */
  outDir: string;
  /** Clusters per page. */
  perPage?: number;
  /** Faces shown per cluster. */
  perCluster?: number;
  /** Thumbnail edge in pixels. */
  thumb?: number;
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Writes the pages; returns their paths. */
export async function writeContactSheets(params: WriteContactSheetsParams): Promise<string[]> {
  const perPage = params.perPage ?? 8;
  const perCluster = params.perCluster ?? 10;
  const thumb = params.thumb ?? 96;
  const gap = 4;
  const labelHeight = 22;
  const rowHeight = labelHeight + thumb + gap * 2;
  const width = gap + perCluster * (thumb + gap);
  await mkdir(params.outDir, { recursive: true });
  const pages: string[] = [];
  for (let start = 0; start < params.clusters.length; start += perPage) {
    const page = params.clusters.slice(start, start + perPage);
    const height = page.length * rowHeight;
    const layers: OverlayOptions[] = [];
    for (const [r, cluster] of page.entries()) {
      const top = r * rowHeight;
      const link = cluster.weakestLink === null ? "" : ` · weakest link ${cluster.weakestLink.toFixed(3)}`;
      const why = cluster.why ? ` · ${cluster.why}` : "";
      const label = `cluster ${cluster.clusterId} · ${cluster.size} image${cluster.size === 1 ? "" : "s"}${link}${why}`;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${labelHeight}"><text x="${gap}" y="16" font-family="sans-serif" font-size="14" fill="#111">${escapeXml(label)}</text></svg>`;
      layers.push({ input: Buffer.from(svg), left: 0, top });
      for (const [c, bytes] of cluster.images.slice(0, perCluster).entries()) {
        let tile: Buffer;
        try {
          tile = await sharp(bytes).rotate().resize(thumb, thumb, { fit: "cover" }).removeAlpha().png().toBuffer();
        } catch {
          tile = await sharp({ create: { width: thumb, height: thumb, channels: 3, background: "#c33" } }).png().toBuffer();
        }
        layers.push({ input: tile, left: gap + c * (thumb + gap), top: top + labelHeight + gap });
      }
    }
    const path = join(params.outDir, `sheet-${String(pages.length + 1).padStart(3, "0")}.png`);
    await sharp({ create: { width, height, channels: 3, background: "#ffffff" } }).composite(layers).png().toFile(path);
    pages.push(path);
  }
  return pages;
}
