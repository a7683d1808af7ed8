/**
 * Offline mode and request timeouts, read from the Python client's variables so one environment
 * drives both clients: `HF_HUB_OFFLINE` (falling back to `TRANSFORMERS_OFFLINE`, as Python does),
 * `HF_HUB_ETAG_TIMEOUT` and `HF_HUB_DOWNLOAD_TIMEOUT` (seconds, default 10 each).
 */
import { UsageError } from "../common/errors.ts";

export const DEFAULT_ETAG_TIMEOUT_MS = 10_000;
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 10_000;

export interface HubNetworkSettings {
  /** `HF_HUB_OFFLINE`: no request at all; pulls are served from the Hub cache. */
  offline: boolean;
  /** `HF_HUB_ETAG_TIMEOUT` in ms: longest wait for the response headers of an API call. */
  etagTimeoutMs: number;
  /**
   * `HF_HUB_DOWNLOAD_TIMEOUT` in ms: longest a transfer may go without a byte moving (a response
   * body, or a request body the connection stops taking), and the wait for a download's headers.
   */
  downloadTimeoutMs: number;
}

export interface ResolveNetworkSettingsParams {
  /** Wins over the environment. */
  offline?: boolean;
  /** Wins over `HF_HUB_ETAG_TIMEOUT`. */
  etagTimeoutMs?: number;
  /** Wins over `HF_HUB_DOWNLOAD_TIMEOUT`. */
  downloadTimeoutMs?: number;
  /** Environment to read for the fields not given; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Given fields as they are, the others from the environment; invalid values are UsageErrors. */
export function resolveNetworkSettings(params: ResolveNetworkSettingsParams = {}): HubNetworkSettings {
  const env = params.env ?? process.env;
  return {
    offline: params.offline ?? isTrue(nonEmpty(env.HF_HUB_OFFLINE) ?? env.TRANSFORMERS_OFFLINE),
    etagTimeoutMs: params.etagTimeoutMs ?? seconds(env, "HF_HUB_ETAG_TIMEOUT", DEFAULT_ETAG_TIMEOUT_MS),
    downloadTimeoutMs: params.downloadTimeoutMs ?? seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", DEFAULT_DOWNLOAD_TIMEOUT_MS),
  };
}

/** Python's `_is_true`: 1, ON, YES, TRUE in any case; anything else (unset included) is false. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "ON", "YES", "TRUE"].includes(value.trim().toUpperCase());
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallbackMs;
  // Python takes whole seconds only; fractions are accepted here too (tests use 0.3 s).
  const value = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`${name}: "${raw}" is not a positive number of seconds`);
  }
  return Math.max(1, Math.round(value * 1000));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}
