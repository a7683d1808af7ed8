/**
 * A request that got no usable answer, named by request and cause:
 * `GET https://huggingface.co/api/datasets/a/b: cannot resolve host huggingface.co (ENOTFOUND)`.
 * undici reports every transport failure as a bare `TypeError("fetch failed")` (or "terminated"
 * mid-body) with the real error somewhere on `cause`; this turns that into a message a user can act
 * on and decides whether another try can help.
 */
import { RuntimeError } from "../common/errors.ts";
import { withoutQueries } from "./describe-request.ts";

export type NetworkFailureKind =
  | "dns"
  | "dns-temporary"
  | "refused"
  | "unreachable"
  | "tls"
  | "connect-timeout"
  | "no-answer"
  | "stalled"
  | "closed"
  | "other";

export interface NetworkFailureDetails {
  /** Method and URL without query (`describeRequestWithHost`); empty when unknown. */
  request: string;
  kind: NetworkFailureKind;
  /** The cause in words, host included: "cannot resolve host huggingface.co (ENOTFOUND)". */
  reason: string;
  /** Worth another try with backoff. */
  transient: boolean;
  /** Caps the tries for this kind below the policy's (doubtful failures get one retry). */
  maxTries?: number;
  /** Tries made when the caller gave up; shown when more than one. */
  tries?: number;
  /** What was being done ("pull ns/name@main"), prefixed to the message. */
  context?: string;
}

export class NetworkFailure extends RuntimeError {
  constructor(
    readonly details: NetworkFailureDetails,
    options?: { cause?: unknown },
  ) {
    const { request, reason, tries, context } = details;
    const prefix = [context, request].filter(Boolean).map((part) => `${part}: `).join("");
    super(`${prefix}${reason}${tries && tries > 1 ? ` (gave up after ${tries} tries)` : ""}`, options);
  }

  get kind(): NetworkFailureKind {
    return this.details.kind;
  }

  get reason(): string {
    return this.details.reason;
  }

  get transient(): boolean {
    return this.details.transient;
  }

  /** The same failure with `context` prefixed (an existing context stays after it). */
  withContext(context: string): NetworkFailure {
    const previous = this.details.context;
    return new NetworkFailure({ ...this.details, context: previous ? `${context}: ${previous}` : context }, { cause: this.cause });
  }

  /** The same failure, saying how many tries were made. */
  withTries(tries: number): NetworkFailure {
    return new NetworkFailure({ ...this.details, tries }, { cause: this.cause });
  }
}

// The name does not exist (or no resolver knows it): asking again gives the same answer, and on
// an offline machine each try only adds the resolver's delay.
const DNS_CODES = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL"]);
// "Try again" from the resolver (a DNS server timed out) or no route right now: genuinely
// transient on a flaky network, but a second one in a row almost always means no network, so
// these get one retry, not five.
const DOUBTFUL_CODES = new Map<string, NetworkFailureKind>([
  ["EAI_AGAIN", "dns-temporary"],
  ["ENETUNREACH", "unreachable"],
  ["EHOSTUNREACH", "unreachable"],
  ["ENETDOWN", "unreachable"],
  ["EHOSTDOWN", "unreachable"],
]);
const CLOSED_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);
const TIMEOUT_CODES = new Map<string, NetworkFailureKind>([
  ["ETIMEDOUT", "connect-timeout"],
  ["UND_ERR_CONNECT_TIMEOUT", "connect-timeout"],
  ["UND_ERR_HEADERS_TIMEOUT", "no-answer"],
  ["UND_ERR_BODY_TIMEOUT", "stalled"],
]);
// OpenSSL's certificate verification results, as Node reports them on `code`.
const CERT_CODES = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_CHAIN_TOO_LONG",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
]);
const WRAPPER_MESSAGES = new Set(["fetch failed", "terminated"]);

/**
 * The transport failure in `error` as a NetworkFailure for `request`, or undefined when `error`
 * is not one (an abort by the caller, a bug, an HTTP answer).
 */
export function toNetworkFailure(error: unknown, request: string, url: string): NetworkFailure | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof NetworkFailure) return e;
  }
  const found = findTransportError(error);
  if (!found) return undefined;
  const { code, detail } = found;
  // The URL names the host; without one, the system error may (getaddrinfo's `hostname`, connect's `address`).
  let hostname = found.hostname ?? "the server";
  let host = found.address ?? hostname;
  try {
    const parsed = new URL(url);
    host = parsed.host;
    hostname = parsed.hostname;
  } catch {
    // keep what the error said
  }
  const suffix = code ? ` (${code})` : "";
  const make = (kind: NetworkFailureKind, reason: string, transient: boolean, maxTries?: number) =>
    new NetworkFailure({ request, kind, reason, transient, ...(maxTries !== undefined && { maxTries }) }, { cause: error });

  if (code && DNS_CODES.has(code)) return make("dns", `cannot resolve host ${hostname}${suffix}`, false);
  if (code && DOUBTFUL_CODES.get(code) === "dns-temporary") {
    return make("dns-temporary", `temporary DNS failure resolving ${hostname}${suffix}`, true, 2);
  }
  if (code && DOUBTFUL_CODES.get(code) === "unreachable") return make("unreachable", `cannot reach ${host}: no route${suffix}`, true, 2);
  // Nothing listens on that port: a wrong HF_ENDPOINT or a local mirror/proxy that is down. The
  // Hub behind its load balancers does not refuse connections while it is up, so retries would
  // only delay the message that names the real problem.
  if (code === "ECONNREFUSED") return make("refused", `connection refused by ${host}: nothing listens there${suffix}`, false);
  if (code && isTlsCode(code, detail)) {
    // A certificate or protocol mismatch does not heal by itself (proxy interception, wrong port).
    return make("tls", `TLS failure with ${host}: ${detail}${suffix}`, false);
  }
  const timeoutKind = code ? TIMEOUT_CODES.get(code) : undefined;
  if (timeoutKind === "connect-timeout") return make(timeoutKind, `cannot connect to ${host}: timed out${suffix}`, true);
  if (timeoutKind === "no-answer") return make(timeoutKind, `no answer from ${host}${suffix}`, true);
  if (timeoutKind === "stalled") return make(timeoutKind, `stalled: no data from ${host}${suffix}`, true);
  if ((code && CLOSED_CODES.has(code)) || (!code && found.midBody)) {
    return make("closed", `connection to ${host} lost: ${detail}${suffix}`, true);
  }
  // undici names its own misuse errors UND_ERR_*; an unknown errno-style code is a system-level
  // network failure, worth a retry like the known ones. No code at all is a request that could
  // never work ("bad port", a redirect loop, an invalid header).
  const transient = code !== undefined && /^E[A-Z0-9_]+$/.test(code);
  return make("other", `request to ${host} failed: ${detail}${suffix}`, transient);
}

function isNetworkCode(code: string): boolean {
  return (
    DNS_CODES.has(code) ||
    DOUBTFUL_CODES.has(code) ||
    code === "ECONNREFUSED" ||
    CLOSED_CODES.has(code) ||
    TIMEOUT_CODES.has(code) ||
    code.startsWith("UND_ERR_") ||
    isTlsCode(code, "")
  );
}

function isTlsCode(code: string, detail: string): boolean {
  return (
    CERT_CODES.has(code) ||
    /^ERR_(TLS|SSL|OSSL)_/.test(code) ||
    (code === "EPROTO" && /ssl|tls/i.test(detail))
  );
}

/**
 * The innermost useful error on the cause chain: its code and a one-line description. Undefined
 * when nothing on the chain looks like a transport failure.
 */
function findTransportError(
  error: unknown,
): { code?: string; detail: string; hostname?: string; address?: string; midBody: boolean } | undefined {
  let code: string | undefined;
  let midBody = false;
  let detail: string | undefined;
  let hostname: string | undefined;
  let address: string | undefined;
  let transport = false;
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (!(e instanceof Error)) break;
    if (e.name === "AbortError") return undefined;
    if (e instanceof TypeError && WRAPPER_MESSAGES.has(e.message)) {
      transport = true;
      // undici's word for a body cut off after the headers.
      if (e.message === "terminated") midBody = true;
    }
    const ownCode = (e as { code?: unknown }).code;
    if (typeof ownCode === "string") {
      code = ownCode;
      // A bare system error counts only with a network code: ENOENT from the disk is no reason to retry.
      if (isNetworkCode(ownCode)) transport = true;
    }
    const named = e as { hostname?: unknown; address?: unknown; port?: unknown };
    if (typeof named.hostname === "string") hostname = named.hostname;
    if (typeof named.address === "string") address = typeof named.port === "number" ? `${named.address}:${named.port}` : named.address;
    if (!WRAPPER_MESSAGES.has(e.message)) {
      // OpenSSL errors carry the readable part on `reason`; their message is a dump.
      const reason = (e as { reason?: unknown }).reason;
      detail = typeof reason === "string" && reason ? reason : firstLine(e.message);
    }
  }
  if (!transport) return undefined;
  return {
    ...(code !== undefined && { code }),
    detail: withoutQueries(detail ?? (midBody ? "the body was cut off" : "no cause given")),
    midBody,
    ...(hostname !== undefined && { hostname }),
    ...(address !== undefined && { address }),
  };
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
