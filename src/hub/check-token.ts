/**
 * Asks the Hub whether it accepts a token (`whoami-v2`): a read that sends nothing, so a publishing
 * run can fail in seconds, before hours of work, on a missing or revoked secret.
 */
import { whoAmI } from "@huggingface/hub";
import { RuntimeError, UsageError } from "../common/errors.ts";
import { createRetryingFetch } from "./retrying-fetch.ts";

export interface CheckTokenParams {
  hubUrl: string;
  accessToken: string;
  /** A retrying fetch (createRetryingFetch). */
  fetch?: typeof fetch;
  /** The flag the check is made for, for the message (e.g. "--push"). */
  flag: string;
}

/**
 * The token's user name. A UsageError when the Hub refuses the token or it is a read token (a
 * publish would end in a 403 after all the work), a RuntimeError when the Hub cannot be asked.
 */
export async function checkToken(params: CheckTokenParams): Promise<string> {
  let me: Awaited<ReturnType<typeof whoAmI>>;
  try {
    me = await whoAmI({ hubUrl: params.hubUrl, accessToken: params.accessToken, fetch: params.fetch ?? createRetryingFetch({}) });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const reason = error instanceof Error ? error.message : String(error);
    if (status === 401 || status === 403) throw new UsageError(`${params.flag}: ${params.hubUrl} does not accept the Hub token (${reason})`);
    throw new RuntimeError(`${params.flag}: ${params.hubUrl} cannot be reached to check the token (${reason}); nothing was done`);
  }
  if (me.auth.accessToken?.role === "read") {
    throw new UsageError(`${params.flag}: the Hub token "${me.auth.accessToken.displayName}" of ${me.name} is a read token; publishing needs a write token`);
  }
  return me.name;
}
