/** The emulator's public types (re-exported by index.ts; the client layer's tests rely on them). */

export type RepoType = "dataset" | "model";

export interface HubEmulatorOptions {
  /** Folder holding the repos on disk (created if missing); state survives a restart on the same folder. */
  storage: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Host to bind; default 127.0.0.1. */
  host?: string;
  /** Entries per page for tree listings (Link paging); default 5 so paging is always exercised. */
  pageSize?: number;
  /**
   * When set, only these tokens are valid: token -> user name (a write token), or -> `{ user, role }`
   * where role "read" is refused (403) on every write route. Otherwise any `hf_` token is a write
   * token of user "tester".
   */
  tokens?: Record<string, string | TokenGrant>;
  /**
   * Namespaces whose new repos are private when `createRepo` says neither `private` nor
   * `visibility` (an organization whose default visibility is private). Others default to public.
   */
  privateNamespaces?: string[];
  /** Called once per injected fault, as it is applied (the CLI prints them). */
  onFault?: (entry: RequestLogEntry) => void;
}

export interface TokenGrant {
  user: string;
  role: "read" | "write";
}

/** A repo's gated-access setting as the Hub reports it: off, or on with automatic/manual approval. */
export type GatedSetting = false | "auto" | "manual";

export type FaultKind = "429" | "500" | "503" | "drop" | "stall" | "slow";

/** Every fault kind, in the order the CLI documents them. */
export const FAULT_KINDS: readonly FaultKind[] = ["429", "500", "503", "drop", "stall", "slow"];

export interface FaultPlan {
  /** Probability (0..1) that a request gets a fault. */
  rate: number;
  /**
   * Kinds to pick from (uniformly). "drop" = for file downloads send part of the body then destroy
   * the socket; for other routes destroy the socket before answering. "stall" = the same two
   * shapes, but instead of destroying the socket it is held open (no headers, or headers and part
   * of the body) until the client gives up, `stallMs` passes or the emulator closes. "slow" =
   * delay the response by slowMs. A dropped or stalled request is never processed (a write does
   * not land), except a download, which is a read.
   */
  kinds: FaultKind[];
  /** Retry-After seconds sent with 429 (default 1; may be fractional like 0.05 — send it as given). */
  retryAfterSeconds?: number;
  /** Delay for "slow" (default 200 ms). */
  slowMs?: number;
  /** How long a "stall" holds the socket before destroying it (default: until the client or close() ends it). */
  stallMs?: number;
  /** Seed for the deterministic PRNG picking faults (default 1). */
  seed?: number;
  /** Only requests whose METHOD + " " + path matches get faults (default: all). E.g. /resolve\//. */
  match?: RegExp;
  /** Apply faults to at most this many requests in total (default unlimited). */
  maxFaults?: number;
}

export interface RequestLogEntry {
  method: string;
  /** Raw path including the query string. */
  path: string;
  /** Status sent; 0 when the connection was dropped before any answer. */
  status: number;
  range?: string;
  /** "Bearer <redacted>" when an Authorization header was present; the token itself is never kept. */
  authorization?: string;
  fault?: FaultKind;
}

export interface SeedParams {
  /** "ns/name" */
  repo: string;
  /** Default "dataset". */
  type?: RepoType;
  /** Repo path -> content. */
  files: Record<string, Uint8Array | string>;
  /** Default: the namespace's default visibility (see HubEmulatorOptions.privateNamespaces). */
  private?: boolean;
  /** Default "main"; created from the default branch if missing. */
  branch?: string;
  /** Optional tag on the new commit. */
  tag?: string;
  message?: string;
}

export interface TreeEntry {
  type: "file" | "directory";
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: string };
}

export interface HubEmulator {
  /** e.g. http://127.0.0.1:43123 (no trailing slash) */
  url: string;
  close(): Promise<void>;
  setFaults(plan: FaultPlan | null): void;
  readonly requests: RequestLogEntry[];
  clearRequests(): void;
  /** Test setup without HTTP: creates the repo if needed (with the initial .gitattributes commit) and commits `files` on top; returns the new commit sha. */
  seed(params: SeedParams): Promise<string>;
  /** Inspection for assertions. */
  refs(repo: string, type?: RepoType): Promise<{ branches: Record<string, string>; tags: Record<string, string> }>;
  /** Newest first, following first parents. */
  commits(repo: string, type?: RepoType, branch?: string): Promise<{ id: string; title: string; parents: string[] }[]>;
  files(repo: string, rev: string, type?: RepoType): Promise<Record<string, { size: number; lfs: boolean; sha256: string }>>;
  readFile(repo: string, rev: string, path: string, type?: RepoType): Promise<Uint8Array>;
  /** A repo's visibility and gated-access setting (what the info route reports). */
  settings(repo: string, type?: RepoType): Promise<{ private: boolean; gated: GatedSetting }>;
  /** Tamper with tree/paths-info listings (to test that clients refuse malicious paths like "../x"). null restores. */
  setListingTamper(fn: ((entries: TreeEntry[]) => TreeEntry[]) | null): void;
}
