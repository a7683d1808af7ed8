/**
 * A strict local emulator of the Hugging Face Hub API, implementing
 * /work/shared/docs/hub-protocol.md, for tests (and by hand through `npm run hub:emulator`).
 *
 * ```ts
 * const hub = await startHubEmulator({ storage: tmpDir });
 * await uploadFiles({ repo: "datasets/me/x", hubUrl: hub.url, accessToken: "hf_test", files });
 * ```
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_GITATTRIBUTES } from "./git-attributes.ts";
import { DEFAULT_BRANCH, RepoStore, type CommitOp } from "./repo-store.ts";
import { EmulatorServer } from "./server.ts";
import type { HubEmulator, HubEmulatorOptions, RepoType, SeedParams } from "./types.ts";

export type { FaultKind, FaultPlan, GatedSetting, HubEmulator, HubEmulatorOptions, RepoType, RequestLogEntry, SeedParams, TokenGrant, TreeEntry } from "./types.ts";
export { FAULT_KINDS } from "./types.ts";
export { DEFAULT_GITATTRIBUTES };

export async function startHubEmulator(options: HubEmulatorOptions): Promise<HubEmulator> {
  const store = new RepoStore(options.storage);
  await store.init();
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const emulator = new EmulatorServer({
    store,
    secret: await store.secret(),
    pageSize: options.pageSize ?? 5,
    ...(options.tokens ? { tokens: options.tokens } : {}),
    ...(options.privateNamespaces ? { privateNamespaces: options.privateNamespaces } : {}),
    ...(options.onFault ? { onFault: options.onFault } : {}),
    fallbackBase: url,
  });
  server.on("request", emulator.listener);

  const commitOf = async (name: string, type: RepoType, rev: string) => {
    await store.requireRepo(type, name);
    return store.getCommit(type, name, await store.requireRev(type, name, rev));
  };

  return {
    url,
    get requests() {
      return emulator.requests;
    },
    clearRequests() {
      emulator.requests.length = 0;
    },
    setFaults(plan) {
      emulator.faults.set(plan);
    },
    setListingTamper(fn) {
      emulator.listingTamper = fn;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async seed(params: SeedParams) {
      const type = params.type ?? "dataset";
      const name = params.repo;
      if (!(await store.getRepo(type, name))) {
        const isPrivate = params.private ?? emulator.privateByDefault(name.split("/")[0]!);
        await store.createRepo({ type, name, private: isPrivate, author: "tester" }).catch(async (error: unknown) => {
          if (!(await store.getRepo(type, name))) throw error; // lost a creation race: fine
        });
      } else if (params.private !== undefined) {
        await store.updateRepo(type, name, { private: params.private });
      }
      const branch = params.branch ?? DEFAULT_BRANCH;
      const refs = await store.readRefs(type, name);
      if (refs.branches[branch] === undefined) await store.createBranch(type, name, branch, { author: "tester" });
      const head = await store.getCommit(type, name, await store.requireRev(type, name, branch));
      const encoded = Object.fromEntries(
        Object.entries(params.files).map(([path, content]) => [path, typeof content === "string" ? Buffer.from(content, "utf8") : content]),
      );
      const attributesFile = encoded[".gitattributes"];
      const gitattributes = attributesFile
        ? new TextDecoder().decode(attributesFile)
        : head.files[".gitattributes"]
          ? new TextDecoder().decode(await store.readObject(head.files[".gitattributes"].sha256))
          : undefined;
      const ops: CommitOp[] = [];
      for (const [path, content] of Object.entries(encoded)) {
        ops.push({ kind: "add", path, ...(await store.storeContent(type, name, path, content, gitattributes)) });
      }
      const { commitId } = await store.commit({
        type,
        name,
        branch,
        title: params.message ?? `Seed ${ops.length} files`,
        author: "tester",
        ops,
      });
      if (params.tag) await store.createTag(type, name, params.tag, commitId);
      return commitId;
    },
    async settings(repo, type = "dataset") {
      const meta = await store.requireRepo(type, repo);
      return { private: meta.private, gated: meta.gated ?? false };
    },
    async refs(repo, type = "dataset") {
      await store.requireRepo(type, repo);
      const refs = await store.readRefs(type, repo);
      return { branches: { ...refs.branches }, tags: { ...refs.tags } };
    },
    async commits(repo, type = "dataset", branch = DEFAULT_BRANCH) {
      const head = await commitOf(repo, type, branch);
      const out: { id: string; title: string; parents: string[] }[] = [];
      for await (const c of store.history(type, repo, head.id)) out.push({ id: c.id, title: c.title, parents: [...c.parents] });
      return out;
    },
    async files(repo, rev, type = "dataset") {
      const commit = await commitOf(repo, type, rev);
      return Object.fromEntries(
        Object.entries(commit.files)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([path, f]) => [path, { size: f.size, lfs: f.lfs, sha256: f.sha256 }]),
      );
    },
    async readFile(repo, rev, path, type = "dataset") {
      const commit = await commitOf(repo, type, rev);
      const file = commit.files[path];
      if (!file) throw new Error(`${path} not found in ${type} ${repo}@${rev}`);
      return store.readObject(file.sha256);
    },
  };
}
