/**
 * Step 0: everything `run` can check before its first side effect (issue #10: nothing happens that
 * the user did not ask for). The config was validated when loaded; here: the Hub settings, a token
 * that the Hub accepts when publishing, and a release folder that idclusters may write.
 */
import { UsageError } from "../common/errors.ts";
import type { ReleaseConfig } from "../config/index.ts";
import { checkToken, createRetryingFetch, resolveHubSettings, type HubSettings, type ResolveHubSettingsParams } from "../hub/index.ts";
import { checkReleaseFolder } from "./release-folder.ts";

export interface ValidateRunParams {
  config: ReleaseConfig;
  hub: ResolveHubSettingsParams;
  /** The release folder and the flag that named it (`--out`, or the default's description). */
  outDir: string;
  outFlag: string;
  push: boolean;
  dryRun: boolean;
  createPr: boolean;
  /** The tag the commit would get, and where it came from (`--tag` or `release.tag`). */
  tag?: string;
  tagFrom?: string;
}

export interface ValidatedRun {
  settings: HubSettings;
  /** Retrying fetch for every Hub call of the run. */
  fetch: typeof fetch;
  /** A push will be made at the end (--push without --dry-run). */
  willPush: boolean;
}

export async function validateRun(params: ValidateRunParams): Promise<ValidatedRun> {
  const settings = resolveHubSettings(params.hub);
  // The settings carry the offline flag and the timeouts the fetch applies.
  const fetch = createRetryingFetch(settings);
  const willPush = params.push && !params.dryRun;
  if (params.createPr && !params.push) throw new UsageError("--create-pr opens the release as a pull request: it needs --push");
  if (params.createPr && params.tag) {
    throw new UsageError(`--create-pr: a pull request is not tagged (tag ${params.tag} from ${params.tagFrom}); tag the merge commit once the pull request is merged`);
  }
  // Local checks first: a usage error never waits for (or follows) a request.
  await checkReleaseFolder({ folder: params.outDir, flag: params.outFlag, workDir: params.config.workDir });
  if (willPush) {
    if (settings.offline) {
      throw new UsageError("--push cannot publish with HF_HUB_OFFLINE set: unset it, or build without --push");
    }
    if (!settings.accessToken) throw new UsageError("--push needs a Hub token: set HF_TOKEN or pass --token");
    // Hours of embedding must not end in a 401: ask the Hub now (a read; nothing is sent).
    await checkToken({ hubUrl: settings.hubUrl, accessToken: settings.accessToken, fetch, flag: "--push" });
  }
  return { settings, fetch, willPush };
}
