/**
 * Which paths the Hub stores with LFS: those matched by a `filter=lfs` line of `.gitattributes`,
 * or any file of 10 MiB or more (hub-protocol.md, "Preupload ... Rule").
 */
import picomatch from "picomatch";
import { LFS_SIZE_THRESHOLD } from "./git-objects.ts";

/** The `.gitattributes` the Hub writes into every new repo (its usual LFS patterns). */
export const DEFAULT_GITATTRIBUTES = [
  "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*",
  "*.lz4", "*.mds", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
  "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
  "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst",
  "*tfevents*",
  "# Audio files - uncompressed", "*.pcm", "*.sam", "*.raw",
  "# Audio files - compressed", "*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav",
  "# Image files - uncompressed", "*.bmp", "*.gif", "*.png", "*.tiff",
  "# Image files - compressed", "*.jpg", "*.jpeg", "*.webp",
  "# Video files - compressed", "*.mp4", "*.webm",
]
  .map((line) => (line.startsWith("#") ? line : `${line} filter=lfs diff=lfs merge=lfs -text`))
  .join("\n") + "\n";

interface Rule {
  matches: (path: string) => boolean;
  lfs: boolean;
}

function parseRules(gitattributes: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of gitattributes.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [pattern, ...attrs] = line.split(/\s+/);
    if (!pattern) continue;
    let lfs: boolean | undefined;
    for (const attr of attrs) {
      if (attr === "filter=lfs") lfs = true;
      else if (attr === "-filter" || attr === "!filter" || (attr.startsWith("filter=") && attr !== "filter=lfs")) lfs = false;
    }
    if (lfs === undefined) continue;
    // gitattributes: a pattern without a slash matches the base name at any depth.
    const anchored = pattern.includes("/");
    const matcher = picomatch(anchored ? pattern.replace(/^\//, "") : pattern, { dot: true, basename: !anchored });
    rules.push({ matches: (p) => matcher(p), lfs });
  }
  return rules;
}

/** True when a file at `path` of `size` bytes must be stored with LFS under `gitattributes`. */
export function isLfsPath(path: string, size: number, gitattributes: string | undefined): boolean {
  if (size >= LFS_SIZE_THRESHOLD) return true;
  let lfs = false;
  // Later lines override earlier ones, as in git.
  for (const rule of parseRules(gitattributes ?? "")) if (rule.matches(path)) lfs = rule.lfs;
  return lfs;
}
