/**
 * The review page's HTML (page/index.html) for one mode: served, its own assets carry the launch
 * token; static, the data is embedded in it. The data goes in a `type="application/json"` block,
 * which no browser executes, with every `<` escaped so no file name can close the element.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The page's files (served as they are, or copied beside a static copy), by URL name. */
export const PAGE_ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "review.css": { file: "review.css", type: "text/css; charset=utf-8" },
  "review.js": { file: "review.js", type: "text/javascript; charset=utf-8" },
  "decisions.js": { file: "decisions.js", type: "text/javascript; charset=utf-8" },
};

/** The folder of the page's files. */
export const PAGE_DIR = fileURLToPath(new URL("./page/", import.meta.url));

export interface ReviewPageHtmlParams {
  /** Appended to each asset URL (`?token=...` when served; empty in a static copy). */
  assetQuery: string;
  /** The data to embed (static copy); absent when the page fetches it. */
  data?: unknown;
}

export async function reviewPageHtml(params: ReviewPageHtmlParams): Promise<string> {
  const template = await readFile(`${PAGE_DIR}index.html`, "utf8");
  const embedded = params.data === undefined ? "" : `<script type="application/json" id="review-data">${JSON.stringify(params.data).replace(/</g, "\\u003c")}</script>`;
  // Replacer functions, so `$` in the data is never a replacement pattern.
  return template.replaceAll("__ASSET_QUERY__", () => params.assetQuery).replace("<!--REVIEW-DATA-->", () => embedded);
}
