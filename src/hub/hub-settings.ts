/**
 * The one place that decides which Hub endpoint, token and cache every Hub call uses. Follows the
 * Python client's environment conventions (see shared/docs/hub-protocol.md, "Rules for every
 * call" and "Cache layout"): `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE` > `HUGGINGFACE_HUB_CACHE` >
 * `$HF_HOME/hub` > `~/.cache/huggingface/hub`; `HF_HUB_OFFLINE`, `HF_HUB_ETAG_TIMEOUT` and
 * `HF_HUB_DOWNLOAD_TIMEOUT` (see hub-network-settings.ts). CLI flags override the environment.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";
import { registerSecret } from "../common/logger.ts";
import { resolveNetworkSettings } from "./hub-network-settings.ts";
import type { HubNetworkSettings } from "./hub-network-settings.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface HubSettings extends HubNetworkSettings {
  /** Endpoint without a trailing slash (the client would build `//api/...` otherwise). */
  hubUrl: string;
  /** `hf_...` token, registered with the log redactor; absent for anonymous reads. */
  accessToken?: string;
  /** Absolute path of the Hub cache root (the folder holding `datasets--ns--name`). */
  cacheDir: string;
}

export interface ResolveHubSettingsParams {
  /** `--hub-url`; wins over `HF_ENDPOINT`. */
  hubUrl?: string;
  /** `--token`; wins over `HF_TOKEN` and the token file. */
  token?: string;
  /** `--cache-dir`; wins over `HF_HUB_CACHE` / `HF_HOME`. */
  cacheDir?: string;
  /** Environment to read (tests pass their own); defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export function resolveHubSettings(params: ResolveHubSettingsParams = {}): HubSettings {
  const env = params.env ?? process.env;
  const home = env.HOME || homedir();
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(home, ".cache"), "huggingface");

  const hubUrlSource = nonEmpty(params.hubUrl) !== undefined ? "--hub-url" : "HF_ENDPOINT";
  const rawHubUrl = nonEmpty(params.hubUrl) ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_HUB_URL;
  const hubUrl = rawHubUrl.replace(/\/+$/, "");
  let parsed: URL;
  try {
    parsed = new URL(hubUrl);
  } catch {
    throw new UsageError(`${hubUrlSource}: "${rawHubUrl}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`${hubUrlSource}: "${rawHubUrl}" must be an http(s) URL`);
  }

  const { token, source } = findToken(params.token, env, hfHome);
  if (token !== undefined) {
    registerSecret(token);
    // The client rejects other tokens with a bare TypeError; say where the bad token came from
    // (never the token itself).
    if (!token.startsWith("hf_")) throw new UsageError(`the Hub token from ${source} must start with "hf_"`);
  }

  const cacheDir = resolve(
    nonEmpty(params.cacheDir) ??
      nonEmpty(env.HF_HUB_CACHE) ??
      nonEmpty(env.HUGGINGFACE_HUB_CACHE) ??
      join(hfHome, "hub"),
  );

  return { hubUrl, ...(token !== undefined && { accessToken: token }), cacheDir, ...resolveNetworkSettings({ env }) };
}

function findToken(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  hfHome: string,
): { token?: string; source?: string } {
  if (nonEmpty(flag)) return { token: flag!.trim(), source: "--token" };
  if (nonEmpty(env.HF_TOKEN)) return { token: env.HF_TOKEN!.trim(), source: "HF_TOKEN" };
  // Deprecated name the Python client still honours.
  if (nonEmpty(env.HUGGING_FACE_HUB_TOKEN)) {
    return { token: env.HUGGING_FACE_HUB_TOKEN!.trim(), source: "HUGGING_FACE_HUB_TOKEN" };
  }
  // `huggingface-cli login` / `hf auth login` stores the token here.
  const tokenPath = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome, "token");
  if (existsSync(tokenPath)) {
    const stored = readFileSync(tokenPath, "utf8").trim();
    if (stored) return { token: stored, source: tokenPath };
  }
  return {};
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}
