import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRepo, datasetInfo, modelInfo } from "@huggingface/hub";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { setLogSink } from "../common/logger.ts";
import { startHubEmulator, type HubEmulator } from "../../test/hub-emulator/index.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";
import { updateRepoSettings } from "./update-repo-settings.ts";

const TOKEN = "hf_settingsSpecToken0123";
const READER = "hf_settingsReadOnly0123";

async function withHub(fn: (hub: HubEmulator, creds: { hubUrl: string; accessToken: string }) => Promise<void>): Promise<void> {
  const storage = await mkdtemp(join(tmpdir(), "idc-settings-"));
  const hub = await startHubEmulator({ storage, tokens: { [TOKEN]: "me", [READER]: { user: "viewer", role: "read" } } });
  try {
    await fn(hub, { hubUrl: hub.url, accessToken: TOKEN });
  } finally {
    await hub.close();
    await rm(storage, { recursive: true, force: true });
  }
}

async function settingsOf(creds: { hubUrl: string; accessToken: string }, name: string) {
  const info = await datasetInfo({ ...creds, name });
  return { gated: info.gated, private: info.private };
}

test("gates a dataset and makes it private; each call changes only the settings it names", async () => {
  await withHub(async (hub, creds) => {
    await createRepo({ ...creds, repo: "datasets/me/faces" });
    assert.deepEqual(await settingsOf(creds, "me/faces"), { gated: false, private: false });

    await updateRepoSettings({ ...creds, repo: "me/faces", gated: "manual", private: true });
    assert.deepEqual(await settingsOf(creds, "me/faces"), { gated: "manual", private: true });

    await updateRepoSettings({ ...creds, repo: "me/faces", gated: "auto" });
    assert.deepEqual(await settingsOf(creds, "me/faces"), { gated: "auto", private: true }, "private left alone");

    await updateRepoSettings({ ...creds, repo: "me/faces", private: false });
    assert.deepEqual(await settingsOf(creds, "me/faces"), { gated: "auto", private: false }, "gated left alone");

    await updateRepoSettings({ ...creds, repo: "me/faces", gated: false });
    assert.deepEqual(await hub.settings("me/faces"), { gated: false, private: false });
  });
});

test("sends one PUT with exactly the given keys, the Bearer token and JSON; models use /api/models", async () => {
  await withHub(async (_hub, creds) => {
    await createRepo({ ...creds, repo: "me/encoder" });
    const sent: { url: string; method?: string; headers: Headers; body: unknown }[] = [];
    const recording: typeof fetch = async (input, init) => {
      sent.push({ url: String(input), method: init?.method, headers: new Headers(init?.headers), body: JSON.parse(String(init?.body)) });
      return fetch(input, init);
    };
    await updateRepoSettings({ ...creds, repo: "me/encoder", repoType: "model", private: true, fetch: recording });
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.url, `${creds.hubUrl}/api/models/me/encoder/settings`);
    assert.equal(sent[0]!.method, "PUT");
    assert.equal(sent[0]!.headers.get("authorization"), `Bearer ${TOKEN}`);
    assert.equal(sent[0]!.headers.get("content-type"), "application/json");
    assert.deepEqual(sent[0]!.body, { private: true }, "no gated key when gated is not given");
    assert.equal((await modelInfo({ ...creds, name: "me/encoder" })).private, true);
  });
});

test("a read-only token, a missing repo and a bad token are UsageErrors that name the repo, never the token", async () => {
  await withHub(async (hub, creds) => {
    await createRepo({ ...creds, repo: "datasets/me/faces" });
    const cases: [Parameters<typeof updateRepoSettings>[0], RegExp][] = [
      [{ ...creds, accessToken: READER, repo: "me/faces", gated: "auto" }, /^settings me\/faces: access denied \(status 403\).*write access/],
      [{ ...creds, accessToken: "hf_unknownToken0123", repo: "me/faces", gated: "auto" }, /^settings me\/faces: access denied \(status 401\)/],
      [{ ...creds, repo: "me/missing", gated: "auto" }, /^settings me\/missing: not found on the Hub/],
    ];
    for (const [params, message] of cases) {
      const error = await updateRepoSettings(params).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
      assert.ok(!error.message.includes(params.accessToken), "the token stays out of the message");
    }
    assert.deepEqual(await hub.settings("me/faces"), { gated: false, private: false });
  });
});

test("a 503 is a RuntimeError with the status; through a retrying fetch it is retried and the settings land", async () => {
  await withHub(async (hub, creds) => {
    await createRepo({ ...creds, repo: "datasets/me/faces" });
    hub.setFaults({ rate: 1, kinds: ["503"], match: /\/settings$/, maxFaults: 1 });
    const error = await updateRepoSettings({ ...creds, repo: "me/faces", gated: "manual" }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RuntimeError, String(error));
    assert.match(error.message, /^settings me\/faces: Hub answered status 503/);
    assert.equal((await hub.settings("me/faces")).gated, false);

    hub.setFaults({ rate: 1, kinds: ["503", "drop"], match: /\/settings$/, maxFaults: 2, seed: 3 });
    const restore = setLogSink(() => {});
    try {
      const retrying = createRetryingFetch({ policy: { baseDelayMs: 1, sleep: async () => {} } });
      await updateRepoSettings({ ...creds, repo: "me/faces", gated: "manual", fetch: retrying });
    } finally {
      restore();
    }
    assert.equal(hub.requests.filter((r) => r.path.endsWith("/settings")).length, 4, "1 refused above, then 2 faults and the one that landed");
    assert.equal((await hub.settings("me/faces")).gated, "manual");
  });
});

test("refuses, before any request, a call that changes nothing, a gated value the Hub does not know and a bad repo id", async () => {
  await withHub(async (hub, creds) => {
    hub.clearRequests();
    await assert.rejects(updateRepoSettings({ ...creds, repo: "me/faces" }), (e: unknown) => e instanceof UsageError && /nothing to update/.test(e.message));
    await assert.rejects(
      updateRepoSettings({ ...creds, repo: "me/faces", gated: true as unknown as "auto" }),
      (e: unknown) => e instanceof UsageError && /gated must be false, "auto" or "manual", got true/.test(e.message),
    );
    await assert.rejects(
      updateRepoSettings({ ...creds, repo: "me/faces", private: "yes" as unknown as boolean }),
      (e: unknown) => e instanceof UsageError && /private must be true or false/.test(e.message),
    );
    await assert.rejects(updateRepoSettings({ ...creds, repo: "faces", gated: "auto" }), UsageError);
    assert.deepEqual(hub.requests, []);
  });
});
