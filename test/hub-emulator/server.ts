/**
 * The emulator's HTTP side: routing, auth, fault injection and the request log, over RepoStore.
 * Every route follows /work/shared/docs/hub-protocol.md; comments cite its sections.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { parse as parseYaml } from "yaml";
import { FaultInjector } from "./faults.ts";
import { isLfsPath } from "./git-attributes.ts";
import { gitBlobSha1, isCommitId, isSha256Hex, lfsPointer, lfsPointerOid } from "./git-objects.ts";
import { entryNotFound, HttpError, repoNotFound, revisionNotFound } from "./http-error.ts";
import type { CommitOp, CommitRecord, RepoMeta, RepoStore } from "./repo-store.ts";
import type { FaultKind, GatedSetting, RepoType, RequestLogEntry, TokenGrant, TreeEntry } from "./types.ts";

const MAX_BODY_BYTES = 1024 * 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  entry: RequestLogEntry;
  requestId: string;
  /** `http://host:port` as the client addressed us: base of Link and upload URLs. */
  base: string;
  /** Set by a "drop" or "stall" fault on a file download: cut or hold the body halfway. */
  midBodyFault?: "drop" | "stall";
  /** User of a valid token; undefined without one. */
  user?: string;
  /** What that token may do. */
  role?: TokenGrant["role"];
}

interface RepoRef {
  type: RepoType;
  /** "ns/name" */
  name: string;
}

export interface EmulatorServerOptions {
  store: RepoStore;
  secret: string;
  pageSize: number;
  tokens?: Record<string, string | TokenGrant>;
  /** Namespaces whose repos are created private unless the request says otherwise. */
  privateNamespaces?: string[];
  onFault?: (entry: RequestLogEntry) => void;
  fallbackBase: string;
}

/** The file download routes, where "drop" and "stall" act halfway through the body. */
const DOWNLOAD_RE = /^\/(?:datasets\/)?[^/]+\/[^/]+\/(?:resolve|raw)\//;
const GATED_VALUES: readonly GatedSetting[] = [false, "auto", "manual"];

export class EmulatorServer {
  readonly requests: RequestLogEntry[] = [];
  readonly faults = new FaultInjector();
  listingTamper: ((entries: TreeEntry[]) => TreeEntry[]) | null = null;
  private readonly store: RepoStore;

  constructor(private readonly options: EmulatorServerOptions) {
    this.store = options.store;
  }

  /** node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const rawPath = req.url ?? "/";
    const entry: RequestLogEntry = { method, path: rawPath, status: 0 };
    if (typeof req.headers.range === "string") entry.range = req.headers.range;
    if (req.headers.authorization !== undefined) entry.authorization = "Bearer <redacted>";
    this.requests.push(entry);
    const ctx: Ctx = {
      req,
      res,
      entry,
      requestId: randomUUID(),
      base: req.headers.host ? `http://${req.headers.host}` : this.options.fallbackBase,
    };
    try {
      const fault = this.faults.pick(`${method} ${rawPath}`);
      if (fault) {
        entry.fault = fault;
        this.options.onFault?.(entry);
        if (await this.applyFault(ctx, fault)) return;
      }
      await this.route(ctx);
    } catch (error) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // A download meant to stall halfway that fails before its headers stalls before them instead.
      if (ctx.midBodyFault === "stall") return this.hold(ctx);
      const httpError =
        error instanceof HttpError ? error : new HttpError(500, `Internal emulator error: ${error instanceof Error ? error.message : String(error)}`);
      await drain(req);
      this.sendError(ctx, httpError);
    }
  }

  /** Returns true when the fault answered the request. Faults come before normal handling. */
  private async applyFault(ctx: Ctx, fault: FaultKind): Promise<boolean> {
    switch (fault) {
      case "429":
        await drain(ctx.req);
        this.sendError(ctx, new HttpError(429, "Injected fault: rate limit reached, retry later", undefined, { "Retry-After": String(this.faults.retryAfterSeconds) }));
        return true;
      case "500":
      case "503":
        await drain(ctx.req);
        this.sendError(ctx, new HttpError(Number(fault), `Injected fault: ${fault === "500" ? "internal server error" : "service unavailable"}`));
        return true;
      case "drop":
      case "stall":
        if (ctx.req.method === "GET" && DOWNLOAD_RE.test(ctx.req.url ?? "")) {
          ctx.midBodyFault = fault; // handled while streaming the file
          return false;
        }
        // Before any answer, and before the request is processed: a write never lands.
        if (fault === "drop") ctx.req.socket.destroy();
        else await this.hold(ctx);
        return true;
      case "slow":
        await new Promise((resolve) => setTimeout(resolve, this.faults.slowMs));
        return false;
    }
  }

  /**
   * "stall": keeps the socket open without sending anything more, until the client gives up, the
   * emulator closes (close() destroys every socket) or `stallMs` passes (then the socket is cut).
   */
  private async hold(ctx: Ctx): Promise<void> {
    const socket = ctx.req.socket;
    if (socket.destroyed) return;
    const stallMs = this.faults.stallMs;
    await new Promise<void>((resolve) => {
      const timer = stallMs === undefined ? undefined : setTimeout(() => socket.destroy(), stallMs);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- responses ----

  private writeHead(ctx: Ctx, status: number, headers: Record<string, string | number>): void {
    ctx.entry.status = status;
    ctx.res.writeHead(status, { "X-Request-Id": ctx.requestId, ...headers });
  }

  private sendJson(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}, contentType = "application/json; charset=utf-8"): void {
    const payload = Buffer.from(JSON.stringify(body), "utf8");
    this.writeHead(ctx, status, { "Content-Type": contentType, "Content-Length": payload.byteLength, ...headers });
    ctx.res.end(ctx.req.method === "HEAD" ? undefined : payload);
  }

  private sendError(ctx: Ctx, error: HttpError): void {
    if (ctx.midBodyFault === "drop") {
      ctx.req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...error.headers, "X-Error-Message": headerSafe(error.message) };
    if (error.errorCode) headers["X-Error-Code"] = error.errorCode;
    this.sendJson(ctx, error.status, { error: error.message }, headers);
  }

  // ---- auth ----

  private authenticate(ctx: Ctx): void {
    const header = ctx.req.headers.authorization;
    if (header === undefined) return;
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    const tokens = this.options.tokens;
    const grant = token === undefined ? undefined : tokens ? (Object.hasOwn(tokens, token) ? tokens[token] : undefined) : token.startsWith("hf_") ? "tester" : undefined;
    // A token that is present but wrong is refused on every route, as the Hub does.
    if (!grant) throw invalidCredentials();
    ctx.user = typeof grant === "string" ? grant : grant.user;
    ctx.role = typeof grant === "string" ? "write" : grant.role;
  }

  private requireUser(ctx: Ctx): string {
    if (!ctx.user) throw invalidCredentials();
    return ctx.user;
  }

  /** Every route that changes something: a valid token (401) with write rights (403). */
  private requireWriter(ctx: Ctx): string {
    const user = this.requireUser(ctx);
    if (ctx.role !== "write") throw new HttpError(403, "Forbidden: this operation needs a token with write access; yours is read-only");
    return user;
  }

  /** The repo's metadata, readable by this request (private repos need a valid token). */
  private async readableRepo(ctx: Ctx, repo: RepoRef): Promise<RepoMeta> {
    if (!isValidRepoName(repo.name)) throw repoNotFound(repo.name);
    const meta = await this.store.getRepo(repo.type, repo.name);
    if (!meta) throw repoNotFound(repo.name);
    // Without a token a private repo looks missing (401 + RepoNotFound, like the Hub).
    if (meta.private && !ctx.user) throw repoNotFound(repo.name, 401);
    return meta;
  }

  private async writableRepo(ctx: Ctx, repo: RepoRef): Promise<RepoMeta> {
    this.requireWriter(ctx);
    return this.readableRepo(ctx, repo);
  }

  // ---- routing ----

  private async route(ctx: Ctx): Promise<void> {
    const method = ctx.req.method ?? "GET";
    const url = splitUrl(ctx.req.url ?? "/");
    const raw = url.pathname.split("/").slice(1);
    let seg: string[];
    try {
      seg = raw.map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, `Malformed percent-encoding in ${url.pathname}`);
    }
    this.authenticate(ctx);
    const q = url.searchParams;
    const is = (m: string) => method === m || (m === "GET" && method === "HEAD");

    if (seg[0] === "api") {
      if (seg[1] === "whoami-v2" && seg.length === 2 && is("GET")) return this.whoami(ctx);
      if (seg[1] === "repos" && seg[2] === "create" && seg.length === 3 && is("POST")) return this.createRepo(ctx);
      if (seg[1] === "repos" && seg[2] === "delete" && seg.length === 3 && is("DELETE")) return this.deleteRepo(ctx);
      if ((seg[1] === "datasets" || seg[1] === "models") && seg.length >= 4) {
        const repo: RepoRef = { type: seg[1] === "datasets" ? "dataset" : "model", name: `${seg[2]}/${seg[3]}` };
        const rest = seg.slice(4);
        const rawRest = raw.slice(4);
        const [action] = rest;
        if (rest.length === 0 && is("GET")) return this.repoInfo(ctx, repo, "HEAD", q);
        if (action === "revision" && rest.length === 2 && is("GET")) return this.repoInfo(ctx, repo, rest[1]!, q);
        if (action === "tree" && rest.length >= 2 && is("GET")) return this.tree(ctx, repo, rawRest.slice(1), url);
        if (action === "commits" && rest.length >= 2 && is("GET")) return this.listCommits(ctx, repo, rawRest.slice(1), url);
        if (action === "paths-info" && rest.length === 2 && is("POST")) return this.pathsInfo(ctx, repo, rest[1]!);
        if (action === "refs" && rest.length === 1 && is("GET")) return this.refs(ctx, repo, q);
        if (action === "preupload" && rest.length === 2 && is("POST")) return this.preupload(ctx, repo, rest[1]!);
        if (action === "commit" && rest.length === 2 && is("POST")) return this.commit(ctx, repo, rest[1]!, q);
        if (action === "branch" && rest.length === 2 && is("POST")) return this.createBranch(ctx, repo, rest[1]!);
        if (action === "branch" && rest.length === 2 && is("DELETE")) return this.deleteBranch(ctx, repo, rest[1]!);
        if (action === "tag" && rest.length === 2 && is("POST")) return this.createTag(ctx, repo, rest[1]!);
        if (action === "tag" && rest.length === 2 && is("DELETE")) return this.deleteTag(ctx, repo, rest[1]!);
        if (action === "settings" && rest.length === 1 && is("PUT")) return this.updateSettings(ctx, repo);
      }
    } else if (seg[0] === "__lfs" && seg[1] === "upload" && seg.length === 4 && is("PUT")) {
      return this.lfsUpload(ctx, seg[2]!, seg[3]!, q);
    } else if (seg.length >= 3) {
      // File routes: /datasets/{ns}/{n}/... ; models have no prefix (hub-protocol.md, "Rules for every call").
      const isDataset = seg[0] === "datasets";
      const [ns, repoSeg, ...rest] = isDataset ? seg.slice(1) : seg;
      if (ns && repoSeg && ns !== "spaces") {
        const type: RepoType = isDataset ? "dataset" : "model";
        if (repoSeg.endsWith(".git") && rest.join("/") === "info/lfs/objects/batch" && is("POST")) {
          return this.lfsBatch(ctx, { type, name: `${ns}/${repoSeg.slice(0, -4)}` });
        }
        if ((rest[0] === "resolve" || rest[0] === "raw") && rest.length >= 3 && is("GET")) {
          return this.serveFile(ctx, { type, name: `${ns}/${repoSeg}` }, rest[1]!, rest.slice(2).join("/"), rest[0] === "raw");
        }
      }
    }
    await drain(ctx.req);
    throw new HttpError(404, `Sorry, we can't find the page you are looking for: ${method} ${url.pathname}`);
  }

  // ---- read routes ----

  private whoami(ctx: Ctx): void {
    const name = this.requireUser(ctx);
    this.sendJson(ctx, 200, {
      type: "user",
      id: idFor(name),
      name,
      fullname: name,
      email: `${name}@example.invalid`,
      emailVerified: true,
      canPay: false,
      isPro: false,
      periodEnd: null,
      avatarUrl: "",
      orgs: [],
      auth: {
        type: "access_token",
        accessToken: { displayName: "emulator token", role: ctx.role ?? "write", createdAt: "2024-01-01T00:00:00.000Z" },
      },
    });
  }

  /** datasetInfo / modelInfo (also repoExists and Python's snapshot_download, which reads `siblings`). */
  private async repoInfo(ctx: Ctx, repo: RepoRef, rev: string, q: URLSearchParams): Promise<void> {
    const meta = await this.readableRepo(ctx, repo);
    const commitId = await this.store.requireRev(repo.type, repo.name, rev);
    const commit = await this.store.getCommit(repo.type, repo.name, commitId);
    const cardData = await this.cardData(repo, commit);
    const blobs = ["1", "true", "True"].includes(q.get("blobs") ?? "");
    const full: Record<string, unknown> = {
      _id: meta._id,
      id: meta.name,
      author: meta.name.split("/")[0],
      sha: commit.id,
      lastModified: commit.date,
      createdAt: meta.createdAt,
      private: meta.private,
      gated: meta.gated ?? false,
      disabled: false,
      downloads: 0,
      downloadsAllTime: 0,
      likes: 0,
      tags: Array.isArray(cardData?.tags) ? cardData.tags : [],
      // Python's repo_info(files_metadata=True) asks `blobs=True` for sizes and LFS info per sibling.
      siblings: Object.keys(commit.files)
        .sort()
        .map((rfilename) => {
          if (!blobs) return { rfilename };
          const f = commit.files[rfilename]!;
          return {
            rfilename,
            blobId: f.oid,
            size: f.size,
            ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.size, pointerSize: Buffer.byteLength(lfsPointer(f.sha256, f.size)) } } : {}),
          };
        }),
      usedStorage: Object.values(commit.files).reduce((sum, f) => sum + f.size, 0),
      ...(cardData ? { cardData } : {}),
      ...(repo.type === "model" ? { modelId: meta.name, library_name: cardData?.library_name, pipeline_tag: cardData?.pipeline_tag } : {}),
    };
    // With `expand`, the Hub answers only the asked fields (plus the ids): a client that forgets to
    // ask for `sha` must notice.
    const expand = [...q.getAll("expand"), ...q.getAll("expand[]")];
    const body = expand.length === 0 ? full : Object.fromEntries(Object.entries(full).filter(([k]) => k === "_id" || k === "id" || expand.includes(k)));
    this.sendJson(ctx, 200, body);
  }

  private async cardData(repo: RepoRef, commit: CommitRecord): Promise<Record<string, unknown> | undefined> {
    const readme = commit.files["README.md"];
    if (!readme || readme.size > 1024 * 1024) return undefined;
    const text = new TextDecoder().decode(await this.store.readObject(readme.sha256));
    const match = /^---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(text);
    if (!match) return undefined;
    try {
      const parsed: unknown = parseYaml(match[1]!);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined; // a broken front matter: the Hub shows no card data either
    }
  }

  /** `tree/{rev}[/{path}]`: rev is NOT encoded, so try the longest known ref prefix. */
  private async resolveLongestPrefix(repo: RepoRef, rawSegments: string[]): Promise<{ commitId: string; rest: string[] }> {
    const segments = rawSegments.map((s) => decodeURIComponent(s));
    for (let k = segments.length; k >= 1; k--) {
      const id = await this.store.resolveRev(repo.type, repo.name, segments.slice(0, k).join("/"));
      if (id) return { commitId: id, rest: segments.slice(k) };
    }
    throw revisionNotFound(segments[0] ?? "");
  }

  private async tree(ctx: Ctx, repo: RepoRef, rawSegments: string[], url: RequestUrl): Promise<void> {
    await this.readableRepo(ctx, repo);
    const q = url.searchParams;
    let { commitId, rest } = await this.resolveLongestPrefix(repo, rawSegments);
    const path = rest.filter((s) => s !== "").join("/");
    const recursive = q.get("recursive") === "true" || q.get("recursive") === "1";
    const expand = q.get("expand") === "true" || q.get("expand") === "1";
    let offset = 0;
    const cursor = q.get("cursor");
    if (cursor !== null) {
      const decoded = decodeCursor(cursor);
      // The cursor pins the commit, so a branch moving between pages cannot mix two snapshots.
      if (!decoded) throw new HttpError(400, `Invalid cursor: ${cursor}`);
      commitId = decoded.commitId;
      offset = decoded.offset;
    }
    const commit = await this.store.getCommit(repo.type, repo.name, commitId);
    const prefix = path === "" ? "" : path + "/";
    const under = Object.keys(commit.files).filter((p) => p.startsWith(prefix));
    if (path !== "" && under.length === 0) {
      throw commit.files[path] ? new HttpError(400, `${path} is a file, not a directory`) : entryNotFound(path);
    }
    const dirs = new Set<string>();
    const filePaths: string[] = [];
    for (const p of under) {
      const parts = p.slice(prefix.length).split("/");
      if (recursive) {
        for (let i = 1; i < parts.length; i++) dirs.add(prefix + parts.slice(0, i).join("/"));
        filePaths.push(p);
      } else if (parts.length === 1) {
        filePaths.push(p);
      } else {
        dirs.add(prefix + parts[0]);
      }
    }
    const all = [...[...dirs].map((p) => ({ p, dir: true })), ...filePaths.map((p) => ({ p, dir: false }))].sort((a, b) =>
      a.p < b.p ? -1 : a.p > b.p ? 1 : 0,
    );
    const limitParam = Number(q.get("limit"));
    const pageSize = Number.isInteger(limitParam) && limitParam > 0 ? Math.min(limitParam, 1000) : this.options.pageSize;
    const page = all.slice(offset, offset + pageSize);
    let entries: TreeEntry[] = [];
    for (const { p, dir } of page) entries.push(await this.treeEntry(repo, commit, p, dir, expand));
    if (this.listingTamper) entries = this.listingTamper(entries);
    const headers: Record<string, string> = {};
    if (offset + pageSize < all.length) {
      const search = new URLSearchParams(url.searchParams);
      search.set("cursor", encodeCursor(commit.id, offset + pageSize));
      headers["Link"] = `<${ctx.base}${url.pathname}?${search}>; rel="next"`;
    }
    this.sendJson(ctx, 200, entries, headers);
  }

  private async treeEntry(repo: RepoRef, commit: CommitRecord, path: string, dir: boolean, expand: boolean): Promise<TreeEntry> {
    let entry: TreeEntry;
    if (dir) {
      const listing = Object.entries(commit.files)
        .filter(([p]) => p.startsWith(path + "/"))
        .map(([p, f]) => `${p}\0${f.oid}`)
        .sort()
        .join("\n");
      entry = { type: "directory", oid: gitBlobSha1(Buffer.from(listing)), size: 0, path };
    } else {
      const f = commit.files[path]!;
      entry = { type: "file", oid: f.oid, size: f.size, path };
      if (f.lfs) entry.lfs = { oid: f.sha256, size: f.size, pointerSize: Buffer.byteLength(lfsPointer(f.sha256, f.size)) };
    }
    if (expand) {
      const last = await this.store.lastCommitFor(repo.type, repo.name, commit.id, path, dir);
      entry.lastCommit = { id: last.id, title: last.title, date: last.date };
    }
    return entry;
  }

  private async pathsInfo(ctx: Ctx, repo: RepoRef, rev: string): Promise<void> {
    await this.readableRepo(ctx, repo);
    const commitId = await this.store.requireRev(repo.type, repo.name, rev);
    const commit = await this.store.getCommit(repo.type, repo.name, commitId);
    const contentType = ctx.req.headers["content-type"] ?? "";
    const body = await readBody(ctx.req);
    let paths: unknown;
    let expand = false;
    if (contentType.startsWith("application/json")) {
      const json = parseJson(body) as { paths?: unknown; expand?: unknown };
      paths = json.paths;
      expand = json.expand === true || json.expand === "true";
    } else if (contentType.startsWith("application/x-www-form-urlencoded")) {
      // Python's get_paths_info posts a form.
      const form = new URLSearchParams(body.toString("utf8"));
      paths = form.getAll("paths");
      expand = form.get("expand") === "true" || form.get("expand") === "True" || form.get("expand") === "1";
    } else {
      throw new HttpError(415, `paths-info needs Content-Type application/json, got "${contentType}"`);
    }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) throw new HttpError(400, `"paths" must be an array of strings`);
    let entries: TreeEntry[] = [];
    for (const p of new Set((paths as string[]).map((s) => s.replace(/^\/+|\/+$/g, "")))) {
      if (commit.files[p]) entries.push(await this.treeEntry(repo, commit, p, false, expand));
      else if (p !== "" && Object.keys(commit.files).some((f) => f.startsWith(p + "/"))) entries.push(await this.treeEntry(repo, commit, p, true, expand));
      // missing paths are left out (hub-protocol.md, pathsInfo)
    }
    if (this.listingTamper) entries = this.listingTamper(entries);
    this.sendJson(ctx, 200, entries);
  }

  private async listCommits(ctx: Ctx, repo: RepoRef, rawSegments: string[], url: RequestUrl): Promise<void> {
    await this.readableRepo(ctx, repo);
    const { commitId, rest } = await this.resolveLongestPrefix(repo, rawSegments);
    if (rest.some((s) => s !== "")) throw revisionNotFound(rawSegments.map((s) => decodeURIComponent(s)).join("/"));
    const q = url.searchParams;
    const limitParam = Number(q.get("limit") ?? 50);
    const limit = Number.isInteger(limitParam) && limitParam > 0 ? Math.min(limitParam, 1000) : 50;
    const page = Math.max(0, Math.floor(Number(q.get("p") ?? 0)) || 0);
    const all: CommitRecord[] = [];
    for await (const c of this.store.history(repo.type, repo.name, commitId)) all.push(c);
    const slice = all.slice(page * limit, (page + 1) * limit);
    const headers: Record<string, string> = { "X-Total-Count": String(all.length) };
    if ((page + 1) * limit < all.length) {
      const search = new URLSearchParams(url.searchParams);
      search.set("p", String(page + 1));
      headers["Link"] = `<${ctx.base}${url.pathname}?${search}>; rel="next"`;
    }
    this.sendJson(
      ctx,
      200,
      slice.map((c) => ({
        id: c.id,
        title: c.title,
        message: c.message,
        authors: [{ user: c.author, avatar: "" }],
        date: c.date,
        parents: c.parents,
      })),
      headers,
    );
  }

  private async refs(ctx: Ctx, repo: RepoRef, q: URLSearchParams): Promise<void> {
    await this.readableRepo(ctx, repo);
    const refs = await this.store.readRefs(repo.type, repo.name);
    const list = (table: Record<string, string>, kind: string) =>
      Object.entries(table)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, targetCommit]) => ({ name, ref: `refs/${kind}/${name}`, targetCommit }));
    const includePrs = ["1", "true", "True"].includes(q.get("include_prs") ?? "");
    this.sendJson(ctx, 200, {
      branches: list(refs.branches, "heads"),
      tags: list(refs.tags, "tags"),
      converts: [],
      ...(includePrs ? { pullRequests: list(refs.prs, "pr") } : {}),
    });
  }

  /** resolve/raw, GET and HEAD, with single byte ranges (hub-protocol.md, download rows). */
  private async serveFile(ctx: Ctx, repo: RepoRef, rev: string, path: string, raw: boolean): Promise<void> {
    await this.readableRepo(ctx, repo);
    const commitId = await this.store.requireRev(repo.type, repo.name, rev);
    const commit = await this.store.getCommit(repo.type, repo.name, commitId);
    const file = commit.files[path];
    if (!file) throw entryNotFound(path);
    // `raw` serves the git blob, which for an LFS file is its pointer.
    const pointer = raw && file.lfs ? Buffer.from(lfsPointer(file.sha256, file.size), "utf8") : undefined;
    const size = pointer ? pointer.byteLength : file.size;
    const headers: Record<string, string | number> = {
      "Content-Type": "application/octet-stream",
      "Accept-Ranges": "bytes",
      "X-Repo-Commit": commit.id,
      ETag: `"${file.lfs && !raw ? file.sha256 : file.oid}"`,
    };
    if (file.lfs && !raw) {
      headers["X-Linked-Etag"] = `"${file.sha256}"`;
      headers["X-Linked-Size"] = String(file.size);
    }
    const rangeHeader = ctx.req.headers.range;
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (rangeHeader !== undefined) {
      if (size === 0) {
        // hub-protocol.md, fileDownloadInfo: an empty file answers 200 + `Content-Range: bytes */0`.
        headers["Content-Range"] = "bytes */0";
      } else {
        const range = parseRange(rangeHeader, size);
        if (!range) {
          throw new HttpError(416, `Range not satisfiable: ${rangeHeader} (size ${size})`, undefined, { "Content-Range": `bytes */${size}` });
        }
        ({ start, end } = range);
        status = 206;
        headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
      }
    }
    const length = size === 0 ? 0 : end - start + 1;
    headers["Content-Length"] = length;
    await drain(ctx.req);
    this.writeHead(ctx, status, headers);
    if (ctx.midBodyFault === "stall") {
      // Headers now (writeHead alone buffers them), then about half the body, then nothing.
      ctx.res.flushHeaders();
    } else if (ctx.req.method === "HEAD" || length === 0) {
      if (ctx.midBodyFault === "drop") ctx.res.destroy();
      else ctx.res.end();
      return;
    }
    let sendEnd = end;
    if (ctx.midBodyFault) sendEnd = start + Math.floor(length / 2) - 1; // about half, then cut or hold
    if (sendEnd >= start) {
      const source = pointer ? bufferStream(pointer.subarray(start, sendEnd + 1)) : createReadStream(this.store.objectPath(file.sha256), { start, end: sendEnd });
      await new Promise<void>((resolve) => {
        source.on("error", () => {
          ctx.res.destroy();
          resolve();
        });
        source.on("end", resolve);
        ctx.res.on("close", resolve);
        source.pipe(ctx.res, { end: !ctx.midBodyFault });
      });
    }
    if (ctx.midBodyFault) {
      // Let the half body reach the client before cutting or holding the connection.
      await new Promise<void>((resolve) => ctx.res.write("", () => resolve()));
      if (ctx.midBodyFault === "drop") ctx.res.destroy();
      else await this.hold(ctx);
    }
  }

  // ---- write routes ----

  private async createRepo(ctx: Ctx): Promise<void> {
    const user = this.requireWriter(ctx);
    const body = parseJson(await readBody(ctx.req, { contentType: "application/json" })) as Record<string, unknown>;
    const repoName = body.name;
    const ns = body.organization ?? user;
    if (typeof repoName !== "string" || typeof ns !== "string" || !isValidRepoName(`${ns}/${repoName}`)) {
      throw new HttpError(400, `Invalid repo name: ${String(ns)}/${String(repoName)}`);
    }
    const type = body.type ?? "model";
    if (type !== "dataset" && type !== "model") throw new HttpError(400, `This emulator serves dataset and model repos, not "${String(type)}"`);
    // The JS client sends `visibility`, Python's `private`; neither: the namespace's default.
    if (body.visibility !== undefined && body.visibility !== "public" && body.visibility !== "private") {
      throw new HttpError(400, `"visibility" must be "public" or "private", got ${JSON.stringify(body.visibility)}`);
    }
    if (body.private !== undefined && typeof body.private !== "boolean") throw new HttpError(400, `"private" must be a boolean, got ${JSON.stringify(body.private)}`);
    if (body.visibility !== undefined && body.private !== undefined && (body.visibility === "private") !== body.private) {
      throw new HttpError(400, `"visibility" ${JSON.stringify(body.visibility)} contradicts "private" ${JSON.stringify(body.private)}`);
    }
    const isPrivate = body.visibility !== undefined ? body.visibility === "private" : typeof body.private === "boolean" ? body.private : this.privateByDefault(ns);
    const files: { path: string; content: Uint8Array }[] = [];
    if (body.files !== undefined) {
      if (!Array.isArray(body.files)) throw new HttpError(400, `"files" must be an array`);
      for (const file of body.files as { path?: unknown; content?: unknown; encoding?: unknown }[]) {
        const path = checkRepoPath(file.path);
        if (typeof file.content !== "string") throw new HttpError(400, `files[].content must be a string (${path})`);
        files.push({ path, content: file.encoding === "base64" ? decodeBase64(file.content, path) : Buffer.from(file.content, "utf8") });
      }
    }
    const name = `${ns}/${repoName}`;
    const { meta } = await this.store.createRepo({
      type,
      name,
      private: isPrivate,
      author: user,
      ...(typeof body.license === "string" ? { license: body.license } : {}),
      files,
    });
    this.sendJson(ctx, 200, { url: `${ctx.base}/${type === "dataset" ? "datasets/" : ""}${name}`, name, id: meta._id });
  }

  /** A new repo's visibility when the request does not say (HubEmulatorOptions.privateNamespaces). */
  privateByDefault(namespace: string): boolean {
    return this.options.privateNamespaces?.includes(namespace) ?? false;
  }

  private async deleteRepo(ctx: Ctx): Promise<void> {
    const user = this.requireWriter(ctx);
    const body = parseJson(await readBody(ctx.req, { contentType: "application/json" })) as Record<string, unknown>;
    const type = body.type ?? "model";
    if (type !== "dataset" && type !== "model") throw new HttpError(400, `Unknown repo type "${String(type)}"`);
    const name = `${String(body.organization ?? user)}/${String(body.name)}`;
    await this.writableRepo(ctx, { type, name });
    await this.store.deleteRepo(type, name);
    this.sendJson(ctx, 200, {});
  }

  /**
   * `PUT /api/{type}s/{ns}/{n}/settings` with `{gated?, private?}`, as huggingface_hub's
   * `update_repo_settings` sends it. Strict: other keys, other values or nothing to change -> 400,
   * and nothing changes unless the whole body is valid.
   */
  private async updateSettings(ctx: Ctx, repo: RepoRef): Promise<void> {
    await this.writableRepo(ctx, repo);
    const body: unknown = parseJson(await readBody(ctx.req, { contentType: "application/json" }));
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "The settings body must be a JSON object");
    const { gated, private: isPrivate, ...rest } = body as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0) throw new HttpError(400, `Unsupported setting(s) ${unknownKeys.map((k) => JSON.stringify(k)).join(", ")}: the emulator knows "gated" and "private"`);
    if (gated !== undefined && !GATED_VALUES.includes(gated as GatedSetting)) {
      throw new HttpError(400, `"gated" must be "auto", "manual" or false, got ${JSON.stringify(gated)}`);
    }
    if (isPrivate !== undefined && typeof isPrivate !== "boolean") throw new HttpError(400, `"private" must be a boolean, got ${JSON.stringify(isPrivate)}`);
    if (gated === undefined && isPrivate === undefined) throw new HttpError(400, `Nothing to update: give "gated" and/or "private"`);
    const meta = await this.store.updateRepo(repo.type, repo.name, {
      ...(gated !== undefined && { gated: gated as GatedSetting }),
      ...(isPrivate !== undefined && { private: isPrivate }),
    });
    this.sendJson(ctx, 200, { private: meta.private, gated: meta.gated ?? false });
  }

  private async createBranch(ctx: Ctx, repo: RepoRef, branch: string): Promise<void> {
    const user = this.requireWriter(ctx);
    await this.writableRepo(ctx, repo);
    const raw = await readBody(ctx.req);
    const body = (raw.byteLength === 0 ? {} : parseJson(raw)) as Record<string, unknown>;
    if (body.startingPoint !== undefined && body.startingPoint !== null && typeof body.startingPoint !== "string") {
      throw new HttpError(400, `"startingPoint" must be a string`);
    }
    await this.store.createBranch(repo.type, repo.name, branch, {
      author: user,
      ...(typeof body.startingPoint === "string" ? { startingPoint: body.startingPoint } : {}),
      empty: body.emptyBranch === true,
      overwrite: body.overwrite === true,
    });
    this.sendJson(ctx, 200, {});
  }

  private async deleteBranch(ctx: Ctx, repo: RepoRef, branch: string): Promise<void> {
    await this.writableRepo(ctx, repo);
    await drain(ctx.req);
    await this.store.deleteBranch(repo.type, repo.name, branch);
    this.sendJson(ctx, 200, {});
  }

  private async createTag(ctx: Ctx, repo: RepoRef, rev: string): Promise<void> {
    await this.writableRepo(ctx, repo);
    const body = parseJson(await readBody(ctx.req, { contentType: "application/json" })) as Record<string, unknown>;
    if (typeof body.tag !== "string" || body.tag === "") throw new HttpError(400, `"tag" must be a non-empty string`);
    await this.store.createTag(repo.type, repo.name, body.tag, rev);
    this.sendJson(ctx, 200, {});
  }

  private async deleteTag(ctx: Ctx, repo: RepoRef, tag: string): Promise<void> {
    await this.writableRepo(ctx, repo);
    await drain(ctx.req);
    await this.store.deleteTag(repo.type, repo.name, tag);
    this.sendJson(ctx, 200, {});
  }

  /** The branch (or refs/pr/N) a preupload/commit targets, and its head. */
  private async writeTarget(repo: RepoRef, rev: string): Promise<CommitRecord> {
    const refs = await this.store.readRefs(repo.type, repo.name);
    const pr = /^refs\/pr\/(\d+)$/.exec(rev);
    const head = pr ? refs.prs[pr[1]!] : refs.branches[rev];
    if (!head) throw revisionNotFound(rev);
    return this.store.getCommit(repo.type, repo.name, head);
  }

  private async gitattributesAt(repo: RepoRef, commit: CommitRecord): Promise<string | undefined> {
    const record = commit.files[".gitattributes"];
    return record ? new TextDecoder().decode(await this.store.readObject(record.sha256)) : undefined;
  }

  /** Step 1 of a commit (hub-protocol.md, "Write calls"): LFS or regular per file. */
  private async preupload(ctx: Ctx, repo: RepoRef, rev: string): Promise<void> {
    await this.writableRepo(ctx, repo);
    const body = parseJson(await readBody(ctx.req, { contentType: "application/json" })) as { files?: unknown; gitAttributes?: unknown };
    const head = await this.writeTarget(repo, rev);
    if (!Array.isArray(body.files)) throw new HttpError(400, `"files" must be an array`);
    if (body.files.length > 1000) throw new HttpError(400, `Too many files in one preupload call (${body.files.length} > 1000)`);
    if (body.gitAttributes !== undefined && body.gitAttributes !== null && typeof body.gitAttributes !== "string") {
      throw new HttpError(400, `"gitAttributes" must be a string`);
    }
    const gitattributes = typeof body.gitAttributes === "string" ? body.gitAttributes : await this.gitattributesAt(repo, head);
    const files = (body.files as { path?: unknown; size?: unknown; sample?: unknown }[]).map((file, i) => {
      const path = checkRepoPath(file.path);
      if (typeof file.size !== "number" || !Number.isInteger(file.size) || file.size < 0) throw new HttpError(400, `files[${i}].size must be a non-negative integer`);
      if (typeof file.sample !== "string") throw new HttpError(400, `files[${i}].sample must be a base64 string`);
      const sample = decodeBase64(file.sample, path);
      if (sample.byteLength > 512 || sample.byteLength > file.size) throw new HttpError(400, `files[${i}].sample must hold the first <= 512 bytes of ${path}`);
      const lfs = isLfsPath(path, file.size, gitattributes);
      const existing = head.files[path];
      return {
        path,
        uploadMode: lfs ? "lfs" : "regular",
        shouldIgnore: false,
        oid: !lfs && existing && !existing.lfs ? existing.oid : null,
      };
    });
    this.sendJson(ctx, 200, { files });
  }

  /** Step 2: the LFS batch API, basic transfer only (which turns Xet off in the client). */
  private async lfsBatch(ctx: Ctx, repo: RepoRef): Promise<void> {
    await this.writableRepo(ctx, repo);
    const body = parseJson(await readBody(ctx.req, { contentType: "application/vnd.git-lfs+json" })) as Record<string, unknown>;
    if (body.operation !== "upload") throw new HttpError(422, `Only the "upload" operation is supported, got ${JSON.stringify(body.operation)}`);
    if (body.transfers !== undefined && (!Array.isArray(body.transfers) || !body.transfers.includes("basic"))) {
      throw new HttpError(422, `The emulator speaks only the "basic" transfer; asked for ${JSON.stringify(body.transfers)}`);
    }
    if (body.hash_algo !== undefined && body.hash_algo !== "sha_256" && body.hash_algo !== "sha256") throw new HttpError(422, `Unsupported hash_algo ${JSON.stringify(body.hash_algo)}`);
    if (!Array.isArray(body.objects)) throw new HttpError(422, `"objects" must be an array`);
    const secret = this.options.secret;
    const key = this.store.repoKey(repo.type, repo.name);
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const objects = [];
    for (const [i, object] of (body.objects as { oid?: unknown; size?: unknown }[]).entries()) {
      if (!isSha256Hex(object.oid)) throw new HttpError(422, `objects[${i}].oid must be a lowercase sha256 hex`);
      if (typeof object.size !== "number" || !Number.isInteger(object.size) || object.size < 0) throw new HttpError(422, `objects[${i}].size must be a non-negative integer`);
      if (await this.store.repoHasLfs(repo.type, repo.name, object.oid)) {
        objects.push({ oid: object.oid, size: object.size, authenticated: true });
        continue;
      }
      const sig = sign(secret, key, object.oid, object.size, expires);
      const href = `${ctx.base}/__lfs/upload/${encodeURIComponent(key)}/${object.oid}?size=${object.size}&expires=${expires}&sig=${sig}`;
      objects.push({ oid: object.oid, size: object.size, authenticated: true, actions: { upload: { href, expires_in: 3600 } } });
    }
    this.sendJson(ctx, 200, { transfer: "basic", objects, hash_algo: "sha_256" }, {}, "application/vnd.git-lfs+json");
  }

  /** The signed upload URL handed out by the batch call: no auth header; body must match the oid. */
  private async lfsUpload(ctx: Ctx, key: string, oid: string, q: URLSearchParams): Promise<void> {
    const size = Number(q.get("size"));
    const expires = Number(q.get("expires"));
    const sig = q.get("sig") ?? "";
    const expected = sign(this.options.secret, key, oid, size, expires);
    if (!isSha256Hex(oid) || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
      await drain(ctx.req);
      throw new HttpError(403, "Invalid or tampered upload signature");
    }
    if (expires < Date.now() / 1000) {
      await drain(ctx.req);
      throw new HttpError(403, "Upload URL expired");
    }
    const match = /^(dataset|model)s\/(.+)$/.exec(key);
    const repo = match ? { type: match[1] as RepoType, name: match[2]! } : undefined;
    if (!repo || !(await this.store.getRepo(repo.type, repo.name))) {
      await drain(ctx.req);
      throw repoNotFound(key);
    }
    await this.store.putStream(ctx.req, { sha256: oid, size });
    await this.store.markLfs(repo.type, repo.name, oid);
    this.writeHead(ctx, 200, { ETag: `"${oid}"`, "Content-Length": 0 });
    ctx.res.end();
  }

  /** Step 3: the NDJSON commit, atomic (hub-protocol.md, "Write calls" 3). */
  private async commit(ctx: Ctx, repo: RepoRef, rev: string, q: URLSearchParams): Promise<void> {
    const user = this.requireWriter(ctx);
    await this.writableRepo(ctx, repo);
    const body = await readBody(ctx.req, { contentType: "application/x-ndjson" });
    const createPr = ["1", "true", "True"].includes(q.get("create_pr") ?? "");
    const lines = body
      .toString("utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    if (lines.length === 0) throw new HttpError(400, "Empty commit payload: the first line must be the header");
    const parsed = lines.map((line, i) => {
      try {
        const value: unknown = JSON.parse(line);
        if (!value || typeof value !== "object") throw new Error("not an object");
        return value as { key?: unknown; value?: Record<string, unknown> };
      } catch {
        throw new HttpError(400, `Commit line ${i + 1} is not a JSON object`);
      }
    });
    const [header, ...operations] = parsed;
    if (header!.key !== "header" || !header!.value || typeof header!.value !== "object") {
      throw new HttpError(400, `The first line of a commit must be {"key":"header",...}, got key ${JSON.stringify(header!.key)}`);
    }
    const { summary, description, parentCommit } = header!.value;
    if (typeof summary !== "string" || summary.trim() === "") throw new HttpError(400, "The commit header needs a non-empty summary");
    if (description !== undefined && description !== null && typeof description !== "string") throw new HttpError(400, "header.description must be a string");
    if (parentCommit !== undefined && parentCommit !== null && (typeof parentCommit !== "string" || !isCommitId(parentCommit))) {
      throw new HttpError(400, `header.parentCommit must be a 40-hex commit id, got ${JSON.stringify(parentCommit)}`);
    }
    const head = await this.writeTarget(repo, rev);
    type Pending = { kind: "file"; path: string; content: Buffer } | { kind: "lfsFile"; path: string; sha256: string; size: number } | { kind: "delete" | "deleteFolder"; path: string };
    const pending: Pending[] = [];
    const seen = new Set<string>();
    for (const [i, op] of operations.entries()) {
      const line = i + 2;
      const value = op.value;
      if (!value || typeof value !== "object") throw new HttpError(400, `Commit line ${line} has no "value" object`);
      const path = checkRepoPath(op.key === "deletedFolder" && typeof value.path === "string" ? value.path.replace(/\/+$/, "") : value.path, line);
      if (seen.has(path)) throw new HttpError(400, `Commit line ${line}: ${path} appears twice in one commit`);
      seen.add(path);
      switch (op.key) {
        case "file": {
          if (value.encoding !== "base64") throw new HttpError(400, `Commit line ${line}: only "base64" encoding is supported`);
          if (typeof value.content !== "string") throw new HttpError(400, `Commit line ${line}: "content" must be a base64 string`);
          pending.push({ kind: "file", path, content: decodeBase64(value.content, path) });
          break;
        }
        case "lfsFile": {
          if (value.algo !== undefined && value.algo !== "sha256") throw new HttpError(400, `Commit line ${line}: algo must be "sha256"`);
          if (!isSha256Hex(value.oid)) throw new HttpError(400, `Commit line ${line}: oid must be a lowercase sha256 hex`);
          if (typeof value.size !== "number" || !Number.isInteger(value.size) || value.size < 0) throw new HttpError(400, `Commit line ${line}: size must be a non-negative integer`);
          pending.push({ kind: "lfsFile", path, sha256: value.oid, size: value.size });
          break;
        }
        case "deletedFile":
          pending.push({ kind: "delete", path });
          break;
        case "deletedFolder":
          pending.push({ kind: "deleteFolder", path });
          break;
        case "header":
          throw new HttpError(400, `Commit line ${line}: a second header`);
        default:
          throw new HttpError(400, `Commit line ${line}: unknown key ${JSON.stringify(op.key)}`);
      }
    }
    // Regular files must really be regular under the .gitattributes this commit ends up with.
    const newAttributes = pending.find((p): p is Extract<Pending, { kind: "file" }> => p.kind === "file" && p.path === ".gitattributes");
    const gitattributes = newAttributes ? newAttributes.content.toString("utf8") : await this.gitattributesAt(repo, head);
    const ops: CommitOp[] = [];
    for (const p of pending) {
      if (p.kind === "file") {
        if (isLfsPath(p.path, p.content.byteLength, gitattributes)) {
          throw new HttpError(400, `${p.path} must be uploaded with Git LFS (matches .gitattributes or is >= 10 MiB); preupload said so`);
        }
        const { sha256, size } = await this.store.putBytes(p.content);
        ops.push({ kind: "add", path: p.path, sha256, size, lfs: false, oid: gitBlobSha1(p.content) });
      } else if (p.kind === "lfsFile") {
        const stored = (await this.store.repoHasLfs(repo.type, repo.name, p.sha256)) ? (await stat(this.store.objectPath(p.sha256))).size : undefined;
        if (stored === undefined) throw new HttpError(422, `LFS object ${p.sha256} for ${p.path} was never uploaded to this repo`);
        if (stored !== p.size) throw new HttpError(422, `LFS object ${p.sha256} for ${p.path} has size ${stored}, not ${p.size}`);
        ops.push({ kind: "add", path: p.path, sha256: p.sha256, size: p.size, lfs: true, oid: lfsPointerOid(p.sha256, p.size) });
      } else {
        ops.push({ kind: p.kind, path: p.path });
      }
    }
    const { commitId, prNumber } = await this.store.commit({
      type: repo.type,
      name: repo.name,
      branch: rev,
      createPr,
      ...(typeof parentCommit === "string" ? { parentCommit } : {}),
      title: summary,
      message: typeof description === "string" ? description : "",
      author: user,
      ops,
    });
    const repoUrl = `${ctx.base}/${repo.type === "dataset" ? "datasets/" : ""}${repo.name}`;
    this.sendJson(ctx, 200, {
      success: true,
      commitOid: commitId,
      commitUrl: `${repoUrl}/commit/${commitId}`,
      ...(prNumber !== undefined ? { pullRequestUrl: `${repoUrl}/discussions/${prNumber}` } : {}),
      hookOutput: "",
    });
  }
}

// ---- helpers ----

interface RequestUrl {
  /** Raw (still percent-encoded) path. */
  pathname: string;
  searchParams: URLSearchParams;
}

/**
 * Splits the request target by hand: `new URL("//api/...", base)` would read "api" as a host,
 * and a client with a trailing slash on hubUrl must get a 404, not a lucky match.
 */
function splitUrl(target: string): RequestUrl {
  const q = target.indexOf("?");
  return {
    pathname: q === -1 ? target : target.slice(0, q),
    searchParams: new URLSearchParams(q === -1 ? "" : target.slice(q + 1)),
  };
}

function invalidCredentials(): HttpError {
  return new HttpError(401, "Invalid credentials in Authorization header");
}

function isValidRepoName(name: string): boolean {
  const parts = name.split("/");
  return parts.length === 2 && parts.every((p) => NAME_RE.test(p) && !p.endsWith(".git") && p.length <= 96);
}

/** A repo path as the Hub accepts it: relative, no `..`/`.` segments, no backslashes, not inside `.git`. */
function checkRepoPath(path: unknown, line?: number): string {
  const where = line === undefined ? "" : `Commit line ${line}: `;
  if (typeof path !== "string" || path === "") throw new HttpError(400, `${where}"path" must be a non-empty string`);
  const parts = path.split("/");
  if (path.startsWith("/") || path.includes("\\") || path.includes("\0") || parts.some((p) => p === "" || p === "." || p === "..") || parts[0] === ".git") {
    throw new HttpError(400, `${where}invalid path ${JSON.stringify(path)}`);
  }
  return path;
}

function decodeBase64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new HttpError(400, `Invalid base64 content for ${what}`);
  return Buffer.from(text, "base64");
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "Request body is not valid JSON");
  }
}

/** Reads the whole body; with `contentType`, refuses (415) any other media type first. */
async function readBody(req: IncomingMessage, expect?: { contentType: string }): Promise<Buffer> {
  if (expect) {
    const actual = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (actual !== expect.contentType) {
      await drain(req);
      throw new HttpError(415, `Expected Content-Type ${expect.contentType}, got "${req.headers["content-type"] ?? ""}"`);
    }
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).byteLength;
    if (total > MAX_BODY_BYTES) throw new HttpError(413, "Request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Consumes an unread request body so an early answer does not reset the connection under the client. */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    req.on("end", resolve);
    req.on("error", () => resolve());
    req.on("close", resolve);
    req.resume();
  });
}

/** Single range only: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Anything else, or out of bounds: undefined (416). */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return { start, end };
}

function sign(secret: string, key: string, oid: string, size: number, expires: number): string {
  return createHmac("sha256", secret).update(`${key}\n${oid}\n${size}\n${expires}`).digest("hex");
}

function encodeCursor(commitId: string, offset: number): string {
  return Buffer.from(JSON.stringify({ c: commitId, o: offset })).toString("base64url");
}

function decodeCursor(cursor: string): { commitId: string; offset: number } | undefined {
  try {
    const { c, o } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { c?: unknown; o?: unknown };
    if (typeof c === "string" && isCommitId(c) && typeof o === "number" && Number.isInteger(o) && o >= 0) return { commitId: c, offset: o };
  } catch {
    // fall through
  }
  return undefined;
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 500);
}

function idFor(name: string): string {
  return Buffer.from(name.padEnd(12, "_").slice(0, 12)).toString("hex");
}

function bufferStream(buffer: Buffer): Readable {
  return Readable.from([buffer]);
}
