import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { redact } from "../common/logger.ts";
import { resolveHubSettings } from "./hub-settings.ts";

const network = { offline: false, etagTimeoutMs: 10_000, downloadTimeoutMs: 10_000 };

test("defaults follow the Python client: huggingface.co, ~/.cache/huggingface/hub, no token", () => {
  const settings = resolveHubSettings({ env: { HOME: "/home/u" } });
  assert.deepEqual(settings, {
    hubUrl: "https://huggingface.co",
    cacheDir: "/home/u/.cache/huggingface/hub",
    offline: false,
    etagTimeoutMs: 10_000,
    downloadTimeoutMs: 10_000,
  });
});

test("environment: HF_ENDPOINT (trailing slash stripped), HF_TOKEN, HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME", () => {
  const env = { HOME: "/h", HF_ENDPOINT: "http://127.0.0.1:9999//", HF_TOKEN: "hf_envtoken123", HF_HOME: "/hf" };
  assert.deepEqual(resolveHubSettings({ env }), {
    hubUrl: "http://127.0.0.1:9999",
    accessToken: "hf_envtoken123",
    cacheDir: "/hf/hub",
    ...network,
  });
  assert.equal(resolveHubSettings({ env: { ...env, HUGGINGFACE_HUB_CACHE: "/old" } }).cacheDir, "/old");
  assert.equal(resolveHubSettings({ env: { ...env, HUGGINGFACE_HUB_CACHE: "/old", HF_HUB_CACHE: "/new" } }).cacheDir, "/new");
  assert.equal(resolveHubSettings({ env: { HOME: "/h", XDG_CACHE_HOME: "/xdg" } }).cacheDir, "/xdg/huggingface/hub");
});

test("flags win over the environment", () => {
  const env = { HOME: "/h", HF_ENDPOINT: "http://env", HF_TOKEN: "hf_envtoken123", HF_HUB_CACHE: "/envcache" };
  const settings = resolveHubSettings({ env, hubUrl: "http://flag/", token: "hf_flagtoken456", cacheDir: "/flagcache" });
  assert.deepEqual(settings, { hubUrl: "http://flag", accessToken: "hf_flagtoken456", cacheDir: "/flagcache", ...network });
});

test("the stored login token is used when no flag or variable gives one, and is registered as a secret", () => {
  const home = mkdtempSync(join(tmpdir(), "idc-settings-"));
  writeFileSync(join(home, "token"), "hf_storedtoken789\n");
  const settings = resolveHubSettings({ env: { HOME: "/h", HF_HOME: home } });
  assert.equal(settings.accessToken, "hf_storedtoken789");
  assert.equal(redact("x hf_storedtoken789 y"), "x *** y");
});

test("a token without the hf_ prefix is a usage error that names its source, not its value", () => {
  assert.throws(
    () => resolveHubSettings({ env: { HOME: "/h", HF_TOKEN: "not-a-token-secret" } }),
    (error: unknown) =>
      error instanceof UsageError && /HF_TOKEN/.test(error.message) && !error.message.includes("not-a-token-secret"),
  );
});

test("a hub URL that is not http(s) is a usage error naming the flag", () => {
  assert.throws(() => resolveHubSettings({ env: { HOME: "/h" }, hubUrl: "ftp://x" }), /--hub-url/);
  assert.throws(() => resolveHubSettings({ env: { HOME: "/h", HF_ENDPOINT: "nonsense" } }), /HF_ENDPOINT/);
});

test("HF_HUB_OFFLINE is true for 1/ON/YES/TRUE in any case, as in Python; TRANSFORMERS_OFFLINE only when it is unset", () => {
  const offline = (env: Record<string, string>) => resolveHubSettings({ env: { HOME: "/h", ...env } }).offline;
  for (const value of ["1", "on", "ON", "Yes", "true", "TRUE", " 1 "]) assert.equal(offline({ HF_HUB_OFFLINE: value }), true, value);
  for (const value of ["0", "off", "false", "no", "", "2", "y"]) assert.equal(offline({ HF_HUB_OFFLINE: value }), false, value);
  assert.equal(offline({}), false);
  assert.equal(offline({ TRANSFORMERS_OFFLINE: "1" }), true);
  assert.equal(offline({ HF_HUB_OFFLINE: "0", TRANSFORMERS_OFFLINE: "1" }), false);
});

test("HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT are seconds (fractions allowed); invalid values name the variable", () => {
  const settings = resolveHubSettings({ env: { HOME: "/h", HF_HUB_ETAG_TIMEOUT: "3", HF_HUB_DOWNLOAD_TIMEOUT: "0.25" } });
  assert.equal(settings.etagTimeoutMs, 3_000);
  assert.equal(settings.downloadTimeoutMs, 250);
  for (const [name, value] of [["HF_HUB_ETAG_TIMEOUT", "ten"], ["HF_HUB_ETAG_TIMEOUT", "0"], ["HF_HUB_DOWNLOAD_TIMEOUT", "-1"], ["HF_HUB_DOWNLOAD_TIMEOUT", "5s"]]) {
    assert.throws(
      () => resolveHubSettings({ env: { HOME: "/h", [name!]: value! } }),
      (error: unknown) => error instanceof UsageError && error.message.startsWith(`${name}: "${value}"`),
      `${name}=${value}`,
    );
  }
});
