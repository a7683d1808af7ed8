/**
 * The refusal of a request in offline mode (`HF_HUB_OFFLINE`). A usage error: the user chose
 * offline mode, and either the cache lacks what the command needs or the command cannot work
 * offline at all (a push).
 */
import { UsageError } from "../common/errors.ts";

export class HubOfflineError extends UsageError {
  constructor(
    /** Method and URL without query, or what was looked for in the cache. */
    readonly subject: string,
    /** What was being done ("pull ns/name@main"), prefixed to the message. */
    readonly context?: string,
  ) {
    super(
      `${context ? `${context}: ` : ""}offline mode is on (HF_HUB_OFFLINE), so no request is made: refused ${subject}; ` +
        `unset HF_HUB_OFFLINE to reach the Hub`,
    );
  }

  /** The same refusal with `context` prefixed. */
  withContext(context: string): HubOfflineError {
    return new HubOfflineError(this.subject, this.context ? `${context}: ${this.context}` : context);
  }
}
