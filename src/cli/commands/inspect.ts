/**
 * `idclusters inspect <release folder> --clusters N [--config <file>] [--out <dir>]`: PNG contact
 * sheets of N clusters for manual review, largest clusters and borderline merges first. With
 * `--config`, the work directory's embeddings give each cluster's weakest internal link (the
 * borderline measure); without, clusters are the largest then a seeded sample.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { UsageError } from "../../common/errors.ts";
import { log } from "../../common/logger.ts";
import { readNpy } from "../../common/npy.ts";
import { loadConfig } from "../../config/index.ts";
import { chooseClusters, openDuckDb, readEmbedIndex, sqlString, writeContactSheets } from "../../release/index.ts";
import { workFiles } from "../../pipeline/work-files.ts";
import type { GlobalArgs } from "../global-options.ts";
import type { InspectArgs } from "../options/inspect.ts";


/** Per cluster, the least over members of the best cosine similarity to another member. */
function weakestLinks(members: Map<number, number[]>, embeddings: Float32Array, dims: number): Map<number, number> {
  const out = new Map<number, number>();
  const norm = (r: number) => {
    let s = 0;
    for (let k = 0; k < dims; k++) s += embeddings[r * dims + k]! ** 2;
    return Math.sqrt(s) || 1;
  };
  for (const [id, rows] of members) {
    if (rows.length < 2 || rows.length > 2000) continue;
    const norms = rows.map(norm);
    let weakest = Infinity;
    for (let a = 0; a < rows.length; a++) {
      let best = -Infinity;
      for (let b = 0; b < rows.length; b++) {
        if (a === b) continue;
        let dot = 0;
        const ra = rows[a]! * dims;
        const rb = rows[b]! * dims;
        for (let k = 0; k < dims; k++) dot += embeddings[ra + k]! * embeddings[rb + k]!;
        best = Math.max(best, dot / (norms[a]! * norms[b]!));
      }
      weakest = Math.min(weakest, best);
    }
    out.set(id, weakest);
  }
  return out;
}

export const inspectCommand: CommandModule<GlobalArgs, InspectArgs> = {
  // command and describe: see commandCatalog in index.ts; options and checks: ../options/inspect.ts
  handler: async (args) => {
    const folder = resolve(args.release);
    const shards = (await readdir(join(folder, "data")).catch(() => [] as string[])).filter((f) => f.endsWith(".parquet")).sort();
    if (shards.length === 0) throw new UsageError(`${folder} has no data/*.parquet shards`);
    const list = `[${shards.map((s) => sqlString(join(folder, "data", s))).join(", ")}]`;
    const db = await openDuckDb();
    try {
      const all = db.all;
      const rows = await all(`select file_name, cluster_id from read_parquet(${list}) where cluster_id >= 0`);
      const members = new Map<number, string[]>();
      for (const r of rows) {
        const id = Number(r.cluster_id);
        const names = members.get(id) ?? [];
        names.push(String(r.file_name));
        members.set(id, names);
      }
      let links = new Map<number, number>();
      if (args.config) {
        const config = await loadConfig({ file: args.config, workDir: args.workDir });
        const files = workFiles(config.workDir);
        if (existsSync(files.embeddings) && existsSync(files.index)) {
          const index = await readEmbedIndex(files.index);
          const embeddingOf = new Map(index.filter((e) => e.embeddingRow !== null).map((e) => [e.fileName, e.embeddingRow!]));
          const array = readNpy(files.embeddings);
          if (array.dtype === "float32" && array.shape.length === 2) {
            const byId = new Map<number, number[]>();
            for (const [id, names] of members) byId.set(id, names.map((n) => embeddingOf.get(n)).filter((r): r is number => r !== undefined));
            links = weakestLinks(byId, array.data as Float32Array, array.shape[1]!);
          }
        } else {
          log.warn(`no embeddings in ${config.workDir}: borderline clusters cannot be ranked`);
        }
      }
      const chosen = chooseClusters({
        clusters: [...members].map(([clusterId, names]) => ({ clusterId, size: names.length, weakestLink: links.get(clusterId) ?? null })),
        count: args.clusters,
        seed: args.seed,
      });
      const ids = chosen.map((c) => c.clusterId);
      const images = new Map<number, Uint8Array[]>();
      if (ids.length > 0) {
        const picked = await all(
          `select cluster_id, image.bytes as bytes from read_parquet(${list}, filename = true, file_row_number = true)
           where cluster_id in (${ids.join(", ")})
           qualify row_number() over (partition by cluster_id order by filename, file_row_number) <= ${Math.max(1, Math.floor(args.perCluster))}
           order by filename, file_row_number`,
        );
        for (const p of picked) {
          const id = Number(p.cluster_id);
          const list = images.get(id) ?? [];
          if (p.bytes instanceof Uint8Array) list.push(p.bytes);
          images.set(id, list);
        }
      }
      const out = resolve(args.out ?? join(folder, "inspect"));
      const pages = await writeContactSheets({
        clusters: chosen.map((c) => ({ ...c, images: images.get(c.clusterId) ?? [] })),
        outDir: out,
        perCluster: args.perCluster,
      });
      log.info(`inspect: ${chosen.length} cluster(s) of ${members.size} on ${pages.length} sheet(s) in ${out}`);
      if (args.json) process.stdout.write(JSON.stringify({ out, pages, clusters: chosen }, null, 2) + "\n");
      else for (const page of pages) process.stdout.write(page + "\n");
    } finally {
      db.close();
    }
  },
};
