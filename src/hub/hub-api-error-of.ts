/** The HubApiError the client would build from a failed answer to a plain `fetch` (routes the client has no function for). */
import { HubApiError } from "@huggingface/hub";

export async function hubApiErrorOf(response: Response): Promise<HubApiError> {
  const error = new HubApiError(response.url, response.status, response.headers.get("X-Request-Id") ?? undefined);
  let detail = "";
  try {
    const body = (await response.json()) as { error?: string; message?: string };
    detail = body.error ?? body.message ?? "";
  } catch {
    // not JSON
  }
  error.message = `${detail || `Api error with status ${response.status}`}. URL: ${response.url}`;
  return error;
}
