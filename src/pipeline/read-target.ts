/**
 * What the target repo holds now, read once per run: its head commit (which becomes the parent of
 * the publishing commit: issue #10, "the head that run plans against is the parent of its
 * commit"), its files with their hashes, and the head's card and `card-inputs.json`. The previous
 * release, stable ids, card and plan work from this one reading; the push re-reads the head only
 * to check it is still this one.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isHubUnreachable, listedHash, pullSnapshot, readRepoHead, type HubSettings } from "../hub/index.ts";

export type TargetState =
  | {
      status: "present";
      /** Head commit of main. */
      head: string;
      /** Every file at the head: path -> SHA-256 (LFS) or git SHA-1 (regular file), as listed. */
      files: Record<string, string>;
      /** The head's README.md, if any. */
      card?: string;
      /** The head's card-inputs.json (written by idclusters), if any. */
      cardInputs?: PublishedCardInputs;
    }
  | { status: "missing" }
  | { status: "unreachable"; reason: string };

/** The fields of a published card-inputs.json that the pipeline reads back. */
export interface PublishedCardInputs {
  data?: { numExamples?: number; labels?: { identities?: number } };
  clusterStats?: { identities?: number };
  /** Hash of everything the release depends on except the previous release (build-key.ts). */
  buildKey?: string;
  previousCommit?: string;
}

export interface ReadTargetParams {
  /** `namespace/name` of the dataset repo. */
  target: string;
  settings: HubSettings;
  /** Retrying fetch used for every call. */
  fetch: typeof fetch;
}

export async function readTarget(params: ReadTargetParams): Promise<TargetState> {
  const { target, settings, fetch } = params;
  try {
    const head = await readRepoHead({ repo: target, hubUrl: settings.hubUrl, ...(settings.accessToken && { accessToken: settings.accessToken }), fetch });
    if (!head.exists) return { status: "missing" };
    const files = Object.fromEntries([...head.files].map(([path, entry]) => [path, listedHash(entry)]));
    const state: TargetState = { status: "present", head: head.commit, files };
    const wanted = ["README.md", "card-inputs.json"].filter((path) => path in files);
    if (wanted.length > 0) {
      const snap = await pullSnapshot({ repo: target, revision: head.commit, include: wanted, ...settings, fetch });
      state.card = await readFile(join(snap.snapshotPath, "README.md"), "utf8").catch(() => undefined);
      state.cardInputs = await readFile(join(snap.snapshotPath, "card-inputs.json"), "utf8")
        .then((text) => JSON.parse(text) as PublishedCardInputs)
        .catch(() => undefined);
    }
    return state;
  } catch (error) {
    // No connection (or offline mode): a local build goes on without a previous release. Anything
    // the Hub answered (a 500 after retries, a 403) is a failure: planning against a guess is not.
    if (!isHubUnreachable(error)) throw error;
    return { status: "unreachable", reason: error instanceof Error ? error.message : String(error) };
  }
}
