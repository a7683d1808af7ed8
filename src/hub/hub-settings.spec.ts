import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import { redact } from "../common/logger.ts";
import { resolveHubSettings } from "./hub-settings.ts";

test("defaults follow the Python client: huggingface.co, ~/.cache/huggingface/hub, no token", () => {
  const settings = resolveHubSettings({ env: { HOME: "/home/u" } });
  assert.deepEqual(settings, { hubUrl: "https://huggingface.co", cacheDir: "/home/u/.cache/huggingface/hub" });
});

test("environment: HF_ENDPOINT (trailing slash stripped), HF_TOKEN, HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME", () => {
  const env = { HOME: "/h", HF_ENDPOINT: "http://127.0.0.1:9999//", HF_TOKEN: "hf_envtoken123", HF_HOME: "/hf" };
  assert.deepEqual(resolveHubSettings({ env }), {
    hubUrl: "http://127.0.0.1:9999",
    accessToken: "hf_envtoken123",
    cacheDir: "/hf/hub",
  });
  assert.equal(resolveHubSettings({ env: { ...env, HUGGINGFACE_HUB_CACHE: "/old" } }).cacheDir, "/old");
  assert.equal(resolveHubSettings({ env: { ...env, HUGGINGFACE_HUB_CACHE: "/old", HF_HUB_CACHE: "/new" } }).cacheDir, "/new");
  assert.equal(resolveHubSettings({ env: { HOME: "/h", XDG_CACHE_HOME: "/xdg" } }).cacheDir, "/xdg/huggingface/hub");
});

test("flags win over the environment", () => {
  const env = { HOME: "/h", HF_ENDPOINT: "http://env", HF_TOKEN: "hf_envtoken123", HF_HUB_CACHE: "/envcache" };
  const settings = resolveHubSettings({ env, hubUrl: "http://flag/", token: "hf_flagtoken456", cacheDir: "/flagcache" });
  assert.deepEqual(settings, { hubUrl: "http://flag", accessToken: "hf_flagtoken456", cacheDir: "/flagcache" });
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
