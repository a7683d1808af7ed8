/**
 * Manual parity check (not part of `npm test`: it needs Python's `huggingface_hub`, which the
 * product never does). Proves the cache written by `pullSnapshot` and the one written by Python's
 * `snapshot_download` are interchangeable:
 *   1. our pull -> Python `scan_cache_dir` sees it without warnings, and an offline Python
 *      `snapshot_download` of the same tag resolves to our snapshot;
 *   2. Python's online `snapshot_download` -> our pull of the same tag downloads nothing.
 *
 * Run: `PYTHON=/path/to/python-with-huggingface_hub npx tsx test/hub/python-cache-parity.ts`
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import assert from "node:assert/strict";
import { pullSnapshot } from "../../src/hub/pull-snapshot.ts";
import { FAST_RETRIES, bytes, captureLogs, startEmulator } from "./setup.ts";

const python = process.env.PYTHON ?? "python3";
// Asynchronous on purpose: the emulator runs in this process and must keep answering.
const run = async (args: string[], env: NodeJS.ProcessEnv) => (await promisify(execFile)(python, args, { env, encoding: "utf8" })).stdout;
const { hub, dir } = await startEmulator();
try {
  const commit = await hub.seed({
    repo: "ns/parity",
    tag: "v1",
    files: { "README.md": "# p\n", "data/train-00000-of-00001.parquet": bytes(100_000, 1), "a/b/c.txt": "deep" },
  });

  const ours = join(dir, "ours");
  const pulled = (await captureLogs(() => pullSnapshot({ repo: "ns/parity", revision: "v1", hubUrl: hub.url, cacheDir: ours, retryPolicy: FAST_RETRIES }))).value!;
  const scan = JSON.parse(
    await run(["-c", `
import json, sys
from huggingface_hub import scan_cache_dir, snapshot_download
info = scan_cache_dir(sys.argv[1])
repos = [{"id": r.repo_id, "type": r.repo_type, "refs": sorted(r.refs),
          "revisions": [{"commit": v.commit_hash, "files": sorted(f.file_name for f in v.files)} for v in r.revisions]}
         for r in info.repos]
path = snapshot_download("ns/parity", repo_type="dataset", revision="v1", cache_dir=sys.argv[1])
print(json.dumps({"warnings": [str(w) for w in info.warnings], "repos": repos, "offline_path": path}))
`, ours], { ...process.env, HF_HUB_OFFLINE: "1" }),
  );
  assert.deepEqual(scan.warnings, []);
  assert.deepEqual(scan.repos, [
    { id: "ns/parity", type: "dataset", refs: ["v1"], revisions: [{ commit, files: [".gitattributes", "README.md", "c.txt", "train-00000-of-00001.parquet"] }] },
  ]);
  assert.equal(scan.offline_path, pulled.snapshotPath);
  console.log("1. Python reads our cache: ok", JSON.stringify(scan));

  const theirs = join(dir, "theirs");
  await run(["-c", `
import sys
from huggingface_hub import snapshot_download
print(snapshot_download("ns/parity", repo_type="dataset", revision="v1", cache_dir=sys.argv[1]))
`, theirs], { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_DISABLE_XET: "1" });
  hub.clearRequests();
  const again = (await captureLogs(() => pullSnapshot({ repo: "ns/parity", revision: "v1", hubUrl: hub.url, cacheDir: theirs, retryPolicy: FAST_RETRIES }))).value!;
  assert.equal(again.downloaded, 0);
  assert.equal(hub.requests.filter((r) => r.path.includes("/resolve/")).length, 0);
  console.log("2. we reuse Python's cache: ok", JSON.stringify(again));
} finally {
  await hub.close();
}
