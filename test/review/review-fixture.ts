/**
 * The real fixture release for the review tests: a copy of chosen fixture faces as an image
 * folder, configs/fixtures-local.yaml with its paths made absolute and a work dir of its own,
 * built by the real `idclusters run`; and `idclusters review` started as a child process.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI_PATH, runCli, type CliResult } from "../support/run-cli.ts";

export const FIXTURES = process.env.IDCLUSTERS_FIXTURES ?? fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));
export const FACES = join(FIXTURES, "faces", "labelled");
const MODELS = join(FIXTURES, "models");
const CONFIG = fileURLToPath(new URL("../../configs/fixtures-local.yaml", import.meta.url));
export const PEOPLE = ["amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart"];
export const FIXTURES_PRESENT = existsSync(join(FACES, "labels.json")) && existsSync(join(MODELS, "yunet_n_dynamic.onnx"));
export const SKIP_NO_FIXTURES = FIXTURES_PRESENT ? false : `../shared/fixtures missing (set IDCLUSTERS_FIXTURES): the review tests need the real fixture faces and models`;

/** No request leaves the machine: the fixture target is a local name, and the tests stay offline. */
export const OFFLINE_ENV = { HF_HUB_OFFLINE: "1", IDCLUSTERS_FIXTURES: FIXTURES };

export interface FixtureBuild {
  /** The config file (in `dir`). */
  config: string;
  /** The source image folder (`dir/source`). */
  source: string;
  work: string;
  /** The release folder `run` writes. */
  release: string;
}

/** Copies image `n` of each person into the source folder (`<person>/<person><n>.png`, as in the fixtures). */
export async function addFaces(source: string, numbers: readonly number[], people: readonly string[] = PEOPLE): Promise<void> {
  for (const person of people) {
    await mkdir(join(source, person), { recursive: true });
    for (const n of numbers) await copyFile(join(FACES, person, `${person}${n}.png`), join(source, person, `${person}${n}.png`));
  }
}

/** The fixture config for a source folder and work dir, with `extra` lines appended under `clustering:`. */
export async function writeFixtureConfig(dir: string, extraClustering = ""): Promise<string> {
  let text = (await readFile(CONFIG, "utf8")).replaceAll("../../shared/fixtures/models", MODELS).replace("../../shared/fixtures/faces/labelled", join(dir, "source"));
  text = text.replace("clustering:\n", `clustering:\n${extraClustering}`);
  text = `work_dir: work\n${text}`;
  const config = join(dir, "config.yaml");
  await writeFile(config, text);
  return config;
}

/** Builds the release with `idclusters run` (images `numbers` of every person). */
export async function buildFixtureRelease(dir: string, numbers: readonly number[] = [1, 2, 3, 4]): Promise<FixtureBuild> {
  const source = join(dir, "source");
  await addFaces(source, numbers);
  const config = await writeFixtureConfig(dir);
  const built = await runCli(["run", "--config", config, "--json"], { env: OFFLINE_ENV, timeoutMs: 300_000 });
  assert.equal(built.code, 0, `idclusters run: ${built.stderr}`);
  return { config, source, work: join(dir, "work"), release: join(dir, "work", "release") };
}

export async function runIdclusters(args: string[]): Promise<CliResult> {
  return runCli(args, { env: OFFLINE_ENV, timeoutMs: 300_000 });
}

export interface RunningReview {
  url: string;
  origin: string;
  port: number;
  token: string;
  overrides: string;
  child: ChildProcess;
  /** Everything it printed on stderr so far. */
  stderr: () => string;
  /** Ctrl-C; resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `idclusters review --json --port 0 ...` and waits for its URL. */
export async function startReview(args: string[]): Promise<RunningReview> {
  const child = spawn(process.execPath, [CLI_PATH, "review", "--port", "0", "--json", ...args], {
    env: { ...process.env, ...OFFLINE_ENV, HF_TOKEN: undefined } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`review printed no URL within 120 s:\n${stderr}`)), 120_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (stdout.includes("\n")) {
        clearTimeout(timer);
        resolve(stdout.split("\n")[0]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`review exited (${code}) before printing its URL:\n${stderr}`));
    });
  });
  const printed = JSON.parse(line) as { url: string; port: number; overrides: string };
  const url = new URL(printed.url);
  return {
    url: printed.url,
    origin: url.origin,
    port: printed.port,
    token: url.searchParams.get("token")!,
    overrides: printed.overrides,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}
