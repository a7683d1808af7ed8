/** The include/exclude selection of repo paths shared by online and offline pulls. */
import picomatch from "picomatch";

/**
 * Whether a repo path is selected: it matches one of `include` (all paths when absent or empty)
 * and none of `exclude`. picomatch globs, dotfiles included.
 */
export function createPathFilter(include: string[] | undefined, exclude: string[] | undefined): (path: string) => boolean {
  const options = { dot: true };
  const included = include && include.length > 0 ? picomatch(include, options) : () => true;
  const excluded = exclude && exclude.length > 0 ? picomatch(exclude, options) : () => false;
  return (path) => included(path) && !excluded(path);
}
