/**
 * Where idclusters keeps what it learns about this machine (session calibration):
 * `$IDCLUSTERS_CACHE_DIR` > `$XDG_CACHE_HOME/idclusters` > `~/.cache/idclusters`, the usual
 * place for per-user caches on Linux (the Hub's own cache sits beside it in `~/.cache/huggingface`).
 */
import { homedir } from "node:os";
import { join } from "node:path";

export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IDCLUSTERS_CACHE_DIR) return env.IDCLUSTERS_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "idclusters");
  return join(homedir(), ".cache", "idclusters");
}
