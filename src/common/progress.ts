/**
 * Progress for long work: a cli-progress bar when stderr is a terminal, plain periodic lines
 * otherwise (CI logs), nothing with `--quiet`.
 */
import cliProgress from "cli-progress";
import { getLogLevel, log } from "./logger.ts";

export interface Progress {
  /** Advances by `delta` units (default 1). */
  tick(delta?: number): void;
  /** Changes the total once it becomes known. */
  setTotal(total: number): void;
  /** Ends the bar and prints a summary line with the rate. */
  stop(): void;
}

export interface ProgressParams {
  /** What is being counted, shown before the bar ("download", "embed"). */
  label: string;
  /** Number of units expected; 0 when unknown yet. */
  total: number;
  /** Unit name for the rate ("images", "files", "MB"). */
  unit?: string;
  /** Seconds between plain lines when stderr is not a terminal. */
  lineIntervalSeconds?: number;
}

export function startProgress(params: ProgressParams): Progress {
  const unit = params.unit ?? "items";
  const started = Date.now();
  let done = 0;
  let total = params.total;
  const rate = () => done / Math.max((Date.now() - started) / 1000, 1e-3);
  const quiet = getLogLevel() === "quiet";

  if (!quiet && process.stderr.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${params.label} [{bar}] {percentage}% {value}/{total} ${unit} | {rate} ${unit}/s | eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: "0.0" });
    return {
      tick(delta = 1) {
        done += delta;
        bar.update(done, { rate: rate().toFixed(1) });
      },
      setTotal(next) {
        total = next;
        bar.setTotal(next);
      },
      stop() {
        bar.stop();
      },
    };
  }

  const interval = (params.lineIntervalSeconds ?? 10) * 1000;
  let lastLine = started;
  const line = () =>
    `${params.label}: ${done}${total ? `/${total}` : ""} ${unit} (${rate().toFixed(1)} ${unit}/s)`;
  return {
    tick(delta = 1) {
      done += delta;
      const now = Date.now();
      if (!quiet && now - lastLine >= interval) {
        lastLine = now;
        log.info(line());
      }
    },
    setTotal(next) {
      total = next;
    },
    stop() {
      if (!quiet) log.info(line() + " done");
    },
  };
}
