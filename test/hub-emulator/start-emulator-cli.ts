/**
 * Starts the emulator's command line (`npm run hub:emulator`) in a child process, for tests that
 * need it as a separate server (a CLI under test talking to it, or the flags themselves).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FaultKind } from "./types.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface StartEmulatorCliParams {
  /** Flags after `npm run hub:emulator --`; `--storage` is required, `--port 0` is a good idea. */
  args: string[];
  /** Give up waiting for the URL after this long (tsx compiles on the first start). Default 30 s. */
  startTimeoutMs?: number;
}

export interface EmulatorCli {
  /** As printed: `http://127.0.0.1:<port>`. */
  url: string;
  /** Everything printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** The faults reported on stderr so far, in order. */
  faults(): { kind: FaultKind; method: string; path: string }[];
  /** SIGTERM, then the exit code (0 after a clean close). */
  stop(): Promise<number | null>;
}

export async function startEmulatorCli(params: StartEmulatorCliParams): Promise<EmulatorCli> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/hub-emulator/cli.ts", ...params.args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub emulator printed no URL within ${params.startTimeoutMs ?? 30_000} ms: ${stderr}`)), params.startTimeoutMs ?? 30_000);
      child.stdout.on("data", () => {
        const newline = stdout.indexOf("\n");
        if (newline === -1) return;
        clearTimeout(timer);
        const line = stdout.slice(0, newline);
        const match = /^Hub emulator listening on (http:\/\/\S+)$/.exec(line);
        if (match) resolve(match[1]!);
        else reject(new Error(`unexpected first line from the hub emulator: ${line}`));
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`hub emulator exited with ${code} before listening: ${stderr}`));
      });
    });
    return {
      url,
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      faults: () =>
        [...stderr.matchAll(/^hub-emulator: fault (\S+) on (\S+) (\S+)$/gm)].map((m) => ({ kind: m[1] as FaultKind, method: m[2]!, path: m[3]! })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
