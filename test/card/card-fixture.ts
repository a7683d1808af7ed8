/**
 * Card inputs shaped like the first release (27,996 images of jxie/celeba-hq, 9,683 identities):
 * the real release config and a bimodal nearest-neighbour histogram like the reference pipeline
 * describes (modes ~0.25 and ~0.8, valley ~0.4).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CardInputs, ClusterStats } from "../../src/card/index.ts";
import { parseConfig } from "../../src/config/index.ts";

const CONFIG_FILE = fileURLToPath(new URL("../../configs/celebahq_512.yaml", import.meta.url));

/** Counts of a two-Gaussian mixture over 200 bins of 0.01 on [-1, 1], deterministic integers. */
function bimodalCounts(rows: number): number[] {
  const density = (x: number, mean: number, sd: number) => Math.exp(-0.5 * ((x - mean) / sd) ** 2);
  const raw = Array.from({ length: 200 }, (_, k) => {
    const x = -1 + (k + 0.5) * 0.01;
    return 0.3 * density(x, 0.255, 0.06) + 0.7 * density(x, 0.805, 0.07);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => Math.round((r / total) * rows));
}

export function celebaStats(overrides: Partial<ClusterStats> = {}): ClusterStats {
  const counts = bimodalCounts(27_990);
  return {
    rows: 27_996,
    input_rows: 27_996,
    identities: 9_683,
    clusters: 4_100,
    noise_rows: 5_583,
    multi_image_clusters: 4_100,
    singletons: 5_583,
    largest_cluster: 31,
    size_distribution: { "1": 5583, "2": 900, "3": 700, "4": 600, "5": 560, "6": 520, "7": 300, "8": 200, "9": 120, "10": 80, "12": 50, "15": 40, "20": 20, "25": 8, "31": 2 },
    eps: 0.35,
    min_samples: 2,
    noise_policy: "singleton",
    dtype: "float32",
    similarity_threshold: 0.6500000357627869,
    nearest_neighbor: {
      share_within_eps: 0.800586,
      non_noise_share: 0.800586,
      histogram: { bin_width: 0.01, start: -1, counts, rows: counts.reduce((a, b) => a + b, 0) },
      exact_duplicates: 6,
      modes: [0.255, 0.805],
      valley: 0.405,
      otsu_threshold: 0.52,
      suggested_eps: 0.595,
      exact_from: 0.6500000357627869,
      max_error: 2e-6,
    },
    ambiguous_pairs: [],
    ...overrides,
  };
}

export function celebaInputs(overrides: Partial<CardInputs> = {}): CardInputs {
  const config = parseConfig(readFileSync(CONFIG_FILE, "utf8"), { file: CONFIG_FILE, workDir: "/tmp/idclusters-card-test" });
  return {
    config,
    data: {
      split: "train",
      features: [
        ["image", { _type: "Image" }],
        ["label", { _type: "ClassLabel", names: ["female", "male"] }],
        ["file_name", { _type: "Value", dtype: "string" }],
        ["cluster_id", { _type: "Value", dtype: "int64" }],
        ["cluster_size", { _type: "Value", dtype: "int64" }],
      ],
      shards: [
        { path: "data/train-00000-of-00002.parquet", rows: 13_998, bytes: 401_000_123 },
        { path: "data/train-00001-of-00002.parquet", rows: 13_998, bytes: 399_876_001 },
      ],
      numExamples: 27_996,
      numBytes: 801_234_567,
      downloadSize: 800_876_124,
      datasetSize: 801_234_567,
    },
    clusterStats: celebaStats(),
    problems: [
      { row: 1203, fileName: "1203.jpg", status: "no_face", reason: "no face detected" },
      { row: 77, fileName: "77.jpg", status: "no_face", reason: "no face detected" },
      { row: 20111, fileName: "20111|odd.jpg", status: "error", reason: "decode failed: truncated JPEG" },
      { row: 27001, fileName: "27001.jpg", status: "no_face", reason: "no face detected" },
    ],
    models: [
      { role: "recognizer", repo: "FoivosPar/Arc2Face", file: "arcface.onnx", revision: "321709b2e9697ea2a5bd06c8a51b340592333e1e", sha256: "a".repeat(64), license: "InsightFace non-commercial research licence" },
      { role: "detector", kind: "scrfd", repo: "DIAMONIK7777/antelopev2", file: "scrfd_10g_bnkps.onnx", revision: "ba0c3e10f4548361eb9a63265d87ce1140ab5a05", sha256: "b".repeat(64), license: "InsightFace non-commercial research licence" },
    ],
    source: { repo: "jxie/celeba-hq", revision: "7ecc6a45edfb5483ccf2f7df1035d298ffe7c76b", split: "train" },
    toolVersion: "0.1.0",
    ...overrides,
  };
}
