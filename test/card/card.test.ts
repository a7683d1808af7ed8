/**
 * The card end to end: writeCard output is byte-identical across runs, consistent with checkCard,
 * merges into an edited card without touching hand-written text, and its SVG plots parse.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { checkCard, renderCard, splitCard, writeCard } from "../../src/card/index.ts";
import type { CardProblem } from "../../src/card/index.ts";
import { setLogSink } from "../../src/common/logger.ts";
import { celebaInputs, celebaStats } from "./card-fixture.ts";

const scratch = await mkdtemp(join(tmpdir(), "idclusters-card-"));
after(() => rm(scratch, { recursive: true, force: true }));
// Merge warnings are expected here; keep the test output clean.
const restoreLog = setLogSink(() => {});
after(restoreLog);

test("two runs give a byte-identical card and plots, and checkCard finds the card consistent", async () => {
  const first = await writeCard({ inputs: celebaInputs(), outDir: join(scratch, "run1") });
  const second = await writeCard({ inputs: celebaInputs(), outDir: join(scratch, "run2") });
  assert.deepEqual(first.assets.map((p) => p.slice(join(scratch, "run1").length)), ["/assets/nn_similarity.svg", "/assets/cluster_sizes.svg"]);
  for (const [a, b] of [[first.readmePath, second.readmePath], ...first.assets.map((p, i) => [p, second.assets[i]!])] as [string, string][]) {
    assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs between runs`);
  }
  const card = await readFile(first.readmePath, "utf8");
  assert.deepEqual(checkCard({ cardText: card, inputs: celebaInputs() }), []);
  // Every number the issue asks for is in the card, computed from the inputs.
  for (const fact of ["9,683 identities over 27,996 images", "`eps = 0.35`", "`min_samples = 2`", "**0.255**", "**0.805**", "**0.405**", "similarity 0.650", "7ecc6a45edfb5483ccf2f7df1035d298ffe7c76b", "b".repeat(64), "idclusters 0.1.0", "`20111\\|odd.jpg`", "(assets/nn_similarity.svg)", "(assets/cluster_sizes.svg)"]) {
    assert.ok(card.includes(fact), `card lacks ${fact}`);
  }
  assert.ok(card.includes("## Dataset Card Contact\n\n[More Information Needed]"), "standard sections with [More Information Needed]");
});

test("a fresh card has the Hub template's sections, in its order", () => {
  // huggingface_hub's datasetcard_template.md (../shared/docs/hf-parquet-and-card.md).
  const official = [
    "# CelebA-HQ 512 with identity clusters", "## Dataset Details", "### Dataset Description", "### Dataset Sources", "## Uses",
    "### Direct Use", "### Out-of-Scope Use", "## Dataset Structure", "## Dataset Creation", "### Curation Rationale",
    "### Source Data", "#### Data Collection and Processing", "#### Who are the source data producers?", "### Annotations",
    "#### Annotation process", "#### Who are the annotators?", "#### Personal and Sensitive Information",
    "## Bias, Risks, and Limitations", "### Recommendations", "## Citation", "## Glossary", "## More Information",
    "## Dataset Card Authors", "## Dataset Card Contact",
  ];
  const body = splitCard(renderCard({ inputs: celebaInputs() })).body;
  const headings = body.split("\n").filter((line) => /^#{1,4} /.test(line));
  assert.deepEqual(headings, official);
});

test("checkCard names each number that disagrees with the data", () => {
  const card = renderCard({ inputs: celebaInputs() });
  const edited = card.replace("**9,683 identities over 27,996 images**", "**9,684 identities over 27,996 images**").replace("num_examples: 27996", "num_examples: 28000");
  const problems = checkCard({ cardText: edited, inputs: celebaInputs() });
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0]!, /^YAML dataset_info\.splits\[0\]\.num_examples: card has 28000, the data gives 27996$/);
  assert.match(problems[1]!, /^block summary, line 1: .*9,684.*9,683/);

  const withoutBlock = card.replace(/<!-- idclusters:begin provenance -->[\s\S]*<!-- idclusters:end provenance -->/, "");
  assert.deepEqual(checkCard({ cardText: withoutBlock, inputs: celebaInputs() }), ["block provenance: missing from the card"]);
  assert.deepEqual(checkCard({ cardText: splitCard(card).body, inputs: celebaInputs() }), ["card has no YAML header"]);

  // The same card checked against different data: the stats-driven blocks and the YAML disagree.
  const other = celebaInputs({ clusterStats: celebaStats({ identities: 9000 }) });
  assert.ok(checkCard({ cardText: card, inputs: other }).some((p) => p.startsWith("block labels")));
});

test("re-rendering an edited card keeps hand-written sections and unknown YAML keys, replaces generated blocks", () => {
  const original = renderCard({ inputs: celebaInputs() });
  const handSection = "## Notes from the maintainers\n\nWe removed nothing by hand. Contact: <someone@example.org> | 42 |\n\n";
  const edited = original
    .replace("---\npretty_name:", "---\nx_review_status: checked # by hand\npretty_name:")
    .replace("### Curation Rationale\n\n[More Information Needed]", "### Curation Rationale\n\nWe wanted identity labels for CelebA-HQ.")
    .replace("## Citation", handSection + "## Citation");

  const newInputs = celebaInputs({ clusterStats: celebaStats({ identities: 9_700, singletons: 5_600 }), previousCommit: "c".repeat(40) });
  const merged = renderCard({ inputs: newInputs, existingCard: edited });
  assert.ok(merged.includes(handSection), "hand-written section kept byte for byte");
  assert.ok(merged.includes("We wanted identity labels for CelebA-HQ."));
  assert.match(merged, /^---\nx_review_status: checked # by hand\npretty_name:/);
  assert.ok(merged.includes("**9,700 identities over 27,996 images**"));
  assert.ok(merged.includes("Previous release: commit `" + "c".repeat(40) + "`"));
  assert.ok(!merged.includes("9,683 identities"));
  assert.deepEqual(checkCard({ cardText: merged, inputs: newInputs }), []);

  // Re-rendering the merged card with the same inputs changes nothing.
  assert.equal(renderCard({ inputs: newInputs, existingCard: merged }), merged);
});

test("a card without generated blocks (push_to_hub's or hand-written) gets them appended", () => {
  const foreign = "---\nlicense: mit\nfoo: bar\n---\n# My dataset\n\nHand-written description.\n";
  const merged = renderCard({ inputs: celebaInputs(), existingCard: foreign });
  assert.ok(merged.includes("\n# My dataset\n\nHand-written description.\n\n## Identity clusters (generated by idclusters)\n\n<!-- idclusters:begin summary -->"));
  assert.match(merged, /\nfoo: bar\n/);
  assert.deepEqual(checkCard({ cardText: merged, inputs: celebaInputs() }), []);
});

test("thousands of dropped images: the table is truncated and the reasons are counted", () => {
  const problems: CardProblem[] = Array.from({ length: 3000 }, (_, i) => ({
    row: 3000 - i,
    fileName: `${3000 - i}.jpg`,
    status: i % 3 === 0 ? "error" : "no_face",
    reason: i % 3 === 0 ? `decode failed: code ${(i / 3) % 20}` : "no face detected",
  }));
  const card = renderCard({ inputs: celebaInputs({ problems }) });
  const block = /<!-- idclusters:begin dropped-images -->([\s\S]*?)<!-- idclusters:end dropped-images -->/.exec(card)![1]!;
  assert.ok(block.includes("**Dropped images: 3,000 source image(s) are not in the release.**"));
  assert.ok(block.includes("- 2,000: no face detected\n- 1,000: could not be read or decoded"));
  const listedRows = block.split("\n").filter((line) => /^\| \d+ \| `/.test(line));
  assert.equal(listedRows.length, 50);
  assert.equal(listedRows[0], "| 1 | `1.jpg` | no_face | no face detected |"); // sorted by source row
  assert.ok(block.includes("2,950 more are not listed here."));
  assert.ok(block.includes("| no face detected | 2,000 |"));
  assert.ok(block.includes("| decode failed: code 0 | 50 |"));
  // 21 distinct reasons, the 10 most frequent listed.
  assert.equal(block.split("\n").filter((line) => /^\| decode failed/.test(line)).length, 9);
  assert.ok(block.includes("and 11 other reason(s)."));
});

test("no histogram in the stats: no histogram plot, and the card says so", async () => {
  const stats = celebaStats();
  stats.nearest_neighbor = { share_within_eps: 0.8, non_noise_share: 0.8 };
  const out = join(scratch, "no-histogram");
  const result = await writeCard({ inputs: celebaInputs({ clusterStats: stats }), outDir: out });
  assert.deepEqual(result.assets, [join(out, "assets", "cluster_sizes.svg")]);
  const card = await readFile(result.readmePath, "utf8");
  assert.ok(card.includes("The histogram was not computed for this release."));
  assert.ok(!card.includes("nn_similarity.svg"));
  await assert.rejects(stat(join(out, "assets", "nn_similarity.svg")));
});

/** Every element named `tag` under `node`, depth first (fast-xml-parser's preserveOrder tree). */
function elements(node: unknown, tag: string, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const child of node) elements(child, tag, found);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === tag) found.push(node as Record<string, unknown>);
      if (key !== ":@") elements(value, tag, found);
    }
  }
  return found;
}

const attributes = (element: Record<string, unknown>) => (element[":@"] ?? {}) as Record<string, string>;

test("the plots are well-formed SVG with the histogram bars, the eps line and the valley", async () => {
  const { assets } = await writeCard({ inputs: celebaInputs(), outDir: join(scratch, "svg") });
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", preserveOrder: true });
  const [nnSvg, sizesSvg] = await Promise.all(assets.map((p) => readFile(p, "utf8")));

  for (const svg of [nnSvg!, sizesSvg!]) {
    assert.equal(XMLValidator.validate(svg), true);
    const tree = parser.parse(svg) as Record<string, unknown>[];
    const roots = tree.filter((n) => !("#text" in n));
    assert.equal(roots.length, 1);
    assert.ok("svg" in roots[0]!, "root element is <svg>");
    assert.equal(attributes(roots[0]!).xmlns, "http://www.w3.org/2000/svg");
  }

  const nn = parser.parse(nnSvg!);
  const groups = elements(nn, "g");
  const marks = (cls: string) => {
    const group = groups.find((g) => (attributes(g).class ?? "").startsWith(cls));
    assert.ok(group, `no ${cls} group`);
    return group;
  };
  const stats = celebaStats();
  const occupied = stats.nearest_neighbor.histogram!.counts.flatMap((c, k) => (c > 0 ? [k] : []));
  // One bar per bin from the first to the last occupied bin, plus one empty bin either side
  // (within [-1, 1]).
  const bars = elements(marks("mark-rect role-mark"), "path");
  const lastBin = Math.min(stats.nearest_neighbor.histogram!.counts.length - 1, occupied[occupied.length - 1]! + 1);
  assert.equal(bars.length, lastBin - Math.max(0, occupied[0]! - 1) + 1);
  const rules = elements(marks("mark-rule role-mark"), "line").map((l) => attributes(l)["aria-label"]);
  assert.deepEqual(rules, ["x: 0.65; kind: eps", "x: 0.405; kind: valley", "x: 0.255; kind: mode", "x: 0.805; kind: mode"]);
  assert.ok(nnSvg!.includes(">eps threshold 0.650</text>") && nnSvg!.includes(">valley 0.405</text>"));

  const sizes = parser.parse(sizesSvg!);
  const sizeGroup = elements(sizes, "g").find((g) => (attributes(g).class ?? "").startsWith("mark-rect role-mark"));
  assert.ok(sizeGroup, "no bars in cluster_sizes.svg");
  const sizeBars = elements(sizeGroup, "path");
  assert.equal(sizeBars.length, Object.keys(stats.size_distribution).length);
});

test("templates see only the values passed in: no process, no environment, no files", () => {
  process.env.IDCLUSTERS_CARD_SECRET = "do-not-leak-42";
  try {
    const probes = ["{{ process }}", "{{ globalThis }}", "{{ require }}", "{{ import }}", "{{ env }}"];
    for (const probe of probes) assert.equal(new Template(probe).render({}), "", probe);
    assert.equal(new Template("{{ process.env.IDCLUSTERS_CARD_SECRET }}").render({}), "");
    assert.throws(() => new Template("{% include 'README.md' %}").render({}));
    assert.ok(!renderCard({ inputs: celebaInputs() }).includes("do-not-leak-42"));
  } finally {
    delete process.env.IDCLUSTERS_CARD_SECRET;
  }
});

test("a local source and local models are published by base name and SHA-256 only: card and card-inputs.json", async () => {
  const { loadCardInputs, saveCardInputs } = await import("../../src/card/index.ts");
  const local = "/home/builder/work/datasets";
  const inputs = celebaInputs({
    source: { path: `${local}/celeba-local/`, split: "train" },
    models: [
      { role: "detector", kind: "scrfd", path: `${local}/models/scrfd_10g_bnkps.onnx`, sha256: "b".repeat(64), license: "non-commercial" },
      { role: "recognizer", path: "C:\\Users\\builder\\models\\arcface.onnx", sha256: "a".repeat(64) },
    ],
    problems: [{ row: 3, fileName: "3.jpg", status: "error", reason: `cannot read ${local}/celeba-local/3.jpg: EACCES` }],
  });
  const card = renderCard({ inputs });
  const path = join(scratch, "local", "card-inputs.json");
  await saveCardInputs({ inputs, path });
  const text = await readFile(path, "utf8");
  for (const published of [card, text]) {
    assert.ok(!published.includes("/home/builder") && !published.includes("C:\\\\Users") && !published.includes("C:\\Users"), published);
  }
  const saved = JSON.parse(text);
  assert.deepEqual(saved.source, { split: "train", name: "celeba-local" });
  assert.deepEqual(saved.models.map((m: Record<string, unknown>) => [m.file, m.path, m.sha256]), [["scrfd_10g_bnkps.onnx", undefined, "b".repeat(64)], ["arcface.onnx", undefined, "a".repeat(64)]]);
  assert.equal(saved.problems[0].reason, "cannot read 3.jpg: EACCES");
  assert.deepEqual(saved.policies, { noFace: "drop", noise: "singleton" });
  assert.ok(card.includes("- Source: local source `celeba-local`, split `train`"));
  assert.ok(card.includes("| detector | scrfd | local file `scrfd_10g_bnkps.onnx` |  | `" + "b".repeat(64) + "` | non-commercial |"));
  assert.ok(card.includes("| recognizer |  | local file `arcface.onnx` |"));
  // The card re-rendered from the saved inputs (what verify --config does) is the same card.
  const loaded = await loadCardInputs({ path, config: inputs.config });
  assert.equal(renderCard({ inputs: loaded }), card);
  assert.deepEqual(checkCard({ cardText: card, inputs: loaded }), []);
});

test("the statistics add up: images in identities, noise (-1) and no face (null) from the release's counts", () => {
  const inputs = celebaInputs();
  inputs.config.clustering.noise = "keep";
  inputs.config.faces.noFace = "keep";
  inputs.clusterStats = celebaStats({ noise_policy: "keep", identities: 4_100, noise_rows: 5_586, input_rows: 27_999, rows: 27_999, size_distribution: { "2": 2_000, "3": 2_100 } });
  inputs.problems = inputs.problems.filter((p) => p.status === "no_face");
  inputs.data = { ...inputs.data, labels: { identities: 4_100, identityRows: 10_300, noiseRows: 5_583, noFaceRows: 3, sizeDistribution: { "2": 2_000, "3": 2_100 } }, numExamples: 15_886 };
  const card = renderCard({ inputs });
  assert.ok(card.includes("**15,886 images: 10,300 in 4,100 identities, 5,583 noise images (`cluster_id` -1), 3 images without a detected face (`cluster_id` null)**"));
  // DBSCAN saw 27,999 rows of which 3 were the all-zero rows of the images without a face.
  assert.ok(card.includes("DBSCAN found 4,100 clusters and 5,583 noise images among the 27,996 images with a face"));
  assert.ok(card.includes("4,100 identities have two or more images (10,300 images, 64.8%), 0 have a single image, and the largest has 3 images."));
  assert.ok(card.includes("**Images without a detected face: 3 source image(s) are in the release with a null `cluster_id`"));
  assert.ok(card.includes("| `cluster_size` | Value(int64) | number of images in the release with this `cluster_id`; 1 for noise (-1); null without a face |"));
  assert.ok(card.includes("noise images are kept with `cluster_id` -1 and `cluster_size` 1 (no identity)"));
});

test("a review's changelog: new decisions, and the decisions withdrawn since the previous release with the merges and splits undoing them made", () => {
  const inputs = celebaInputs();
  inputs.previousCommit = "c".repeat(40);
  inputs.changelog = {
    kept: 9_680,
    fresh: 3,
    retired: 1,
    merges: [
      { id: "5", from: ["5", "7"], manual: true },
      { id: "9", from: ["9", "12"] },
    ],
    splits: [{ id: "3", into: ["3", "14"], manual: true, undone: true }],
    manual: [{ decision: "m-5-7", action: "merge", images: 2, from: ["5", "7"], into: ["5"] }],
    withdrawn: ["m-3-14", "x-old"],
  };
  const card = renderCard({ inputs });
  assert.ok(card.includes("- clustering merge: identity `9` now holds images of previous identities 9, 12\n"), card);
  assert.ok(!card.includes("clustering split"), "the undone split is the review's, not the clustering's");
  assert.ok(card.includes("- manual merge (decision `m-5-7`): identity `5` now holds images of previous identities `5`, `7`\n"), card);
  assert.ok(
    card.includes(
      "**Review decisions withdrawn since the previous release**: 2 (`m-3-14`, `x-old`): applied in the previous release, not in this one; what they changed is undone, which made these merges and splits:\n\n- undone decision's split: images of previous identity `3` are now in identities 3, 14\n",
    ),
    card,
  );
  assert.deepEqual(checkCard({ cardText: card, inputs }), []);
  // Without withdrawn decisions the section is not there.
  const none = renderCard({ inputs: { ...inputs, changelog: { ...inputs.changelog, withdrawn: undefined, splits: [] } } });
  assert.ok(!none.includes("withdrawn"), none);
});
