/**
 * One logger for the whole tool. Messages go to stderr so stdout stays clean for `--json`
 * summaries and printed paths. Every message passes through the secret redactor, so a token
 * registered with `registerSecret` can never reach a terminal, a CI log or an error report.
 */

const secrets = new Set<string>();

/** Registers a string (an access token) that must never be printed. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) secrets.add(secret);
}

/** Replaces every registered secret in `text` with `***`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

export type LogLevel = "quiet" | "info" | "debug";

let level: LogLevel = process.env.IDCLUSTERS_LOG === "debug" ? "debug" : "info";
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export function setLogLevel(next: LogLevel): void {
  level = next;
}

export function getLogLevel(): LogLevel {
  return level;
}

/** Redirects log lines (tests capture them to prove the token never appears). */
export function setLogSink(next: (line: string) => void): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

function emit(prefix: string, message: string): void {
  sink(redact(prefix + message));
}

export const log = {
  /** Progress and outcomes a user wants to see; silenced by `--quiet`. */
  info(message: string): void {
    if (level !== "quiet") emit("", message);
  },
  /** Problems that do not stop the run (a retried request, a skipped image); always shown. */
  warn(message: string): void {
    emit("warning: ", message);
  },
  /** Shown only with IDCLUSTERS_LOG=debug. */
  debug(message: string): void {
    if (level === "debug") emit("debug: ", message);
  },
};
