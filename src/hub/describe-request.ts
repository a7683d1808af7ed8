/**
 * How requests and URLs appear in log lines and errors: never the query string (LFS upload and
 * CDN hrefs carry signatures there) nor userinfo (credentials).
 */

/** `GET /api/datasets/ns/name`, for retry log lines; just the method when the URL is unreadable. */
export function describeRequest(method: string, url: string): string {
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return method;
  }
}

/** `GET https://huggingface.co/api/datasets/ns/name`, for final errors, which must name the host. */
export function describeRequestWithHost(method: string, url: string): string {
  try {
    const parsed = new URL(url);
    return `${method} ${parsed.origin}${parsed.pathname}`;
  } catch {
    return method;
  }
}

/** `text` with the query string and fragment of every http(s) URL in it removed. */
export function withoutQueries(text: string): string {
  return text.replace(/(https?:\/\/[^\s?#"'<>]*)[?#][^\s"'<>]*/g, "$1");
}
