import { test } from "node:test";
import assert from "node:assert/strict";
import { HubApiError } from "@huggingface/hub";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { toHubFailure } from "./hub-failure.ts";
import { HubOfflineError } from "./hub-offline-error.ts";
import { isHubUnreachable } from "./is-hub-unreachable.ts";
import { NetworkFailure } from "./network-failure.ts";

test("Hub answers keep their exit class and lose the signed query of the URL the client names", () => {
  const api = new HubApiError("https://s3.example/bucket/obj?X-Amz-Signature=abc&X-Amz-Credential=k", 500);
  api.message = "Error while uploading x.parquet to LFS storage. URL: https://s3.example/bucket/obj?X-Amz-Signature=abc&X-Amz-Credential=k";
  const failure = toHubFailure(api, "push me/x@main");
  assert.ok(failure instanceof RuntimeError);
  assert.equal(failure.message, "push me/x@main: Hub answered status 500 (Error while uploading x.parquet to LFS storage. URL: https://s3.example/bucket/obj)");
  const missing = new HubApiError("https://huggingface.co/api/datasets/a/b?expand=sha", 404);
  missing.message = "Repository not found. URL: https://huggingface.co/api/datasets/a/b?expand=sha";
  assert.ok(toHubFailure(missing, "pull a/b@main") instanceof UsageError);
  assert.ok(!toHubFailure(missing, "pull a/b@main").message.includes("expand"));
  assert.equal(isHubUnreachable(missing), false);
});

test("our network failures and offline refusals keep their class and get the context", () => {
  const network = new NetworkFailure({ request: "GET https://huggingface.co/api/x", kind: "dns", reason: "cannot resolve host huggingface.co (ENOTFOUND)", transient: false });
  const wrapped = toHubFailure(network, "pull a/b@main");
  assert.ok(wrapped instanceof NetworkFailure);
  assert.equal(wrapped.message, "pull a/b@main: GET https://huggingface.co/api/x: cannot resolve host huggingface.co (ENOTFOUND)");
  assert.ok(isHubUnreachable(wrapped));
  const offline = toHubFailure(new HubOfflineError("GET https://huggingface.co/api/x"), "push a/b@main");
  assert.ok(offline instanceof HubOfflineError && offline instanceof UsageError);
  assert.match(offline.message, /^push a\/b@main: offline mode is on \(HF_HUB_OFFLINE\)/);
  assert.ok(isHubUnreachable(offline));
  assert.ok(isHubUnreachable(new RuntimeError("outer", { cause: network })));
});

test("a bare undici error from a fetch that is not ours still names its cause, never just 'fetch failed'", () => {
  const raw = new TypeError("fetch failed", {
    cause: Object.assign(new Error("getaddrinfo ENOTFOUND x.invalid"), { code: "ENOTFOUND", hostname: "x.invalid" }),
  });
  const failure = toHubFailure(raw, "pull a/b@main");
  assert.equal(failure.message, "pull a/b@main: cannot resolve host x.invalid (ENOTFOUND)");
  assert.ok(!failure.message.includes("fetch failed"));
});
