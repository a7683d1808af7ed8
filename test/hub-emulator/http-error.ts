/** An error the emulator answers as `{"error": message}` with `status` and, when set, `X-Error-Code`. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    /** `RepoNotFound`, `RevisionNotFound`, `EntryNotFound`... (hub-protocol.md, "Rules for every call"). */
    readonly errorCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const repoNotFound = (name: string, status = 404) =>
  new HttpError(status, `Repository not found: ${name}`, "RepoNotFound");
export const revisionNotFound = (rev: string) => new HttpError(404, `Invalid rev id: ${rev}`, "RevisionNotFound");
export const entryNotFound = (path: string) => new HttpError(404, `Entry not found: ${path}`, "EntryNotFound");
