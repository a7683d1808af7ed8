/**
 * The review page's local server (node:http), for one person on this machine:
 *
 * - bound to 127.0.0.1 only; a request whose Host is not a loopback name is refused (a web page
 *   elsewhere cannot reach it through DNS rebinding);
 * - every request (page, assets, data, thumbnails, writes) carries the per-launch token printed
 *   with the URL (`?token=` or the `X-Review-Token` header): 401 without, 403 with a wrong one;
 * - it serves its own page files by name and thumbnails by SHA-256 of an image of this build,
 *   nothing else: no path from a request ever reaches the file system;
 * - the page gets a strict Content-Security-Policy (own scripts and styles only, no inline code);
 * - a save (POST /api/decisions, JSON) names the SHA-256 of the decisions file the page loaded;
 *   if the file changed since (another tab, another person, an editor), nothing is written and
 *   the page is told so (409). Saves are written one at a time, atomically.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { UsageError } from "../common/errors.ts";
import { readOverrides, writeOverrides, type ReadOverridesResult } from "../identities/index.ts";
import { checkSubmittedDecisions } from "./check-submitted-decisions.ts";
import { PAGE_ASSETS, PAGE_DIR, reviewPageHtml } from "./review-page-html.ts";
import type { ReviewData } from "./review-types.ts";

export interface ServeReviewParams {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** The decisions file: read for every data request, written by saves. */
  overridesPath: string;
  /** The page's data for the decisions file as read now. */
  dataFor: (overrides: ReadOverridesResult) => Promise<ReviewData>;
  /** File name of each image of this build, by SHA-256 (checks writes and thumbnail requests). */
  images: ReadonlyMap<string, string>;
  /** Path of an image's thumbnail, by SHA-256. */
  thumbnailOf: (sha256: string) => string;
  /** Who new decisions are recorded as. */
  reviewer: string;
  /** The launch token; default 32 random bytes in hex. */
  token?: string;
  /** Called after each save. */
  onSave?: (info: { decisions: number; sha256: string }) => void;
}

export interface ReviewServer {
  /** The page's URL, token included. */
  url: string;
  port: number;
  token: string;
  /** Stops accepting requests, lets a save in progress finish, closes open connections. */
  close: () => Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const MAX_BODY = 64 * 2 ** 20;

function send(res: ServerResponse, status: number, body: string | Uint8Array, type = "text/plain; charset=utf-8", headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength),
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value), "application/json; charset=utf-8");

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new UsageError(`request body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function serveReview(params: ServeReviewParams): Promise<ReviewServer> {
  const token = params.token ?? randomBytes(32).toString("hex");
  const tokenBytes = Buffer.from(token);
  const tokenOk = (given: string | null): boolean => {
    const bytes = Buffer.from(given ?? "");
    return bytes.length === tokenBytes.length && timingSafeEqual(bytes, tokenBytes);
  };
  const assetQuery = `?token=${encodeURIComponent(token)}`;
  const html = await reviewPageHtml({ assetQuery });

  // The data of the file as last read, by its SHA-256: ranking 28k rows takes a second or two.
  let cached: { sha: string | null; body: Promise<{ json: Buffer; gzip: Buffer }> } | undefined;
  const dataOf = (overrides: ReadOverridesResult) => {
    if (cached?.sha !== overrides.sha256) {
      const body = params.dataFor(overrides).then((data) => {
        const json = Buffer.from(JSON.stringify(data));
        return { json, gzip: gzipSync(json, { level: 4 }) };
      });
      cached = { sha: overrides.sha256, body };
      body.catch(() => {
        if (cached?.body === body) cached = undefined;
      });
    }
    return cached.body;
  };
  const readCurrent = () => readOverrides(params.overridesPath, { missingIsEmpty: true });
  // Writes one at a time: a second save waits and then meets the first one's file.
  let writing: Promise<unknown> = Promise.resolve();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    if (!LOOPBACK_HOSTS.has(host)) return send(res, 403, "this server answers only to 127.0.0.1 or localhost\n");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const given = url.searchParams.get("token") ?? (req.headers["x-review-token"] as string | undefined) ?? null;
    if (given === null) return send(res, 401, "missing token: open the URL idclusters review printed\n");
    if (!tokenOk(given)) return send(res, 403, "wrong token: open the URL this launch of idclusters review printed\n");
    const path = url.pathname;

    if (path === "/api/decisions") {
      if (req.method !== "POST") return send(res, 405, "POST only\n", undefined, { Allow: "POST" });
      if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return send(res, 415, "expected application/json\n");
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}`) return send(res, 403, "cross-origin write refused\n");
      let body: { base?: unknown; decisions?: unknown };
      try {
        body = JSON.parse((await readBody(req)).toString("utf8"));
      } catch (error) {
        return sendJson(res, 400, { error: error instanceof UsageError ? error.message : "the body is not JSON" });
      }
      if (typeof body !== "object" || body === null || !(body.base === null || typeof body.base === "string")) {
        return sendJson(res, 400, { error: 'expected {"base": <sha256 of the file loaded, or null>, "decisions": [...]}' });
      }
      const save = writing.then(async () => {
        const current = await readCurrent();
        if (current.sha256 !== body.base) {
          return sendJson(res, 409, {
            error: `${params.overridesPath} changed since this page loaded it (another tab, person or editor saved in between): nothing was written. Reload to see the file as it is now; your unsaved decisions can be applied again after the reload.`,
            sha256: current.sha256,
          });
        }
        let decisions;
        try {
          decisions = checkSubmittedDecisions({ submitted: body.decisions, current, images: params.images, reviewer: params.reviewer, now: new Date() });
        } catch (error) {
          return sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
        }
        await writeOverrides(params.overridesPath, { version: 1, decisions });
        const sha256 = createHash("sha256").update(await readFile(params.overridesPath)).digest("hex");
        params.onSave?.({ decisions: decisions.length, sha256 });
        sendJson(res, 200, { sha256, decisions: decisions.length, file: params.overridesPath });
        // Rank the new state now, so the page's reload finds it ready.
        void readCurrent().then(dataOf).catch(() => {});
      });
      writing = save.catch(() => {});
      return save;
    }

    if (req.method !== "GET") return send(res, 405, "GET only\n", undefined, { Allow: "GET" });
    if (path === "/" || path === "/index.html") return send(res, 200, html, "text/html; charset=utf-8");
    const name = path.slice(1);
    if (Object.hasOwn(PAGE_ASSETS, name)) {
      const asset = PAGE_ASSETS[name]!;
      return send(res, 200, await readFile(`${PAGE_DIR}${asset.file}`), asset.type);
    }
    if (path === "/api/data") {
      let overrides: ReadOverridesResult;
      try {
        overrides = await readCurrent();
      } catch (error) {
        return sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      }
      const { json, gzip } = await dataOf(overrides);
      const zipped = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      return send(res, 200, zipped ? gzip : json, "application/json; charset=utf-8", zipped ? { "Content-Encoding": "gzip", Vary: "Accept-Encoding" } : {});
    }
    const thumb = /^\/thumbs\/([0-9a-f]{64})\.webp$/.exec(path);
    if (thumb && params.images.has(thumb[1]!)) {
      const bytes = await readFile(params.thumbnailOf(thumb[1]!)).catch(() => undefined);
      if (bytes) return send(res, 200, bytes, "image/webp", { "Cache-Control": "private, max-age=86400" });
    }
    return send(res, 404, "not found\n");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new UsageError(`port ${params.port} on 127.0.0.1 is in use (another review still running?): pass --port <n>, or --port 0 for any free port`));
      else reject(error);
    });
    server.listen(params.port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : params.port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await writing;
      server.closeAllConnections();
      await closed;
    },
  };
}
