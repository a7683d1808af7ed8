/**
 * `npm run hub:emulator -- --storage <dir> [--port p] [--host h] [--page-size n]
 *    [--token hf_x[:user[:read|write]] ...] [--private-namespace ns ...]
 *    [--fault-rate r --fault-kinds k,k,... [--fault-seed n] [--fault-match regex] [--fault-max n]
 *     [--retry-after s] [--slow-ms ms] [--stall-ms ms]]`
 * Starts the Hub emulator, prints `Hub emulator listening on <url>` (then the fault plan, if any)
 * and runs until SIGINT/SIGTERM. Each injected fault is reported on stderr as it happens. A bad
 * flag exits with status 2 and a message naming the flag. See README.md ("Rehearsing a publish
 * under faults").
 */
import { parseArgs } from "node:util";
import { FAULT_KINDS, startHubEmulator, type FaultKind, type FaultPlan, type TokenGrant } from "./index.ts";

function fail(message: string): never {
  process.stderr.write(`hub-emulator: ${message}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      storage: { type: "string" },
      "page-size": { type: "string", default: "5" },
      token: { type: "string", multiple: true },
      "private-namespace": { type: "string", multiple: true },
      "fault-rate": { type: "string" },
      "fault-kinds": { type: "string" },
      "fault-seed": { type: "string" },
      "fault-match": { type: "string" },
      "fault-max": { type: "string" },
      "retry-after": { type: "string" },
      "slow-ms": { type: "string" },
      "stall-ms": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (error) {
  // parseArgs names the offending flag in its message ("Unknown option '--x'").
  fail(error instanceof Error ? error.message : String(error));
}
const { values } = parsed;

/** A decimal number (no "", "0x10", "1e3" surprises from Number()), else exit 2 naming the flag. */
function number(flag: string, text: string, check: { integer?: boolean; min?: number; max?: number; what: string }): number {
  const value = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  const ok = Number.isFinite(value) && (!check.integer || Number.isInteger(value)) && (check.min === undefined || value >= check.min) && (check.max === undefined || value <= check.max);
  if (!ok) fail(`${flag} must be ${check.what}, got ${JSON.stringify(text)}`);
  return value;
}

if (!values.storage) fail("--storage <dir> is required");
const port = number("--port", values.port, { integer: true, min: 0, max: 65535, what: "an integer within 0..65535" });
const pageSize = number("--page-size", values["page-size"], { integer: true, min: 1, what: "a positive integer" });

let tokens: Record<string, string | TokenGrant> | undefined;
for (const spec of values.token ?? []) {
  const [token, user = "tester", role = "write", ...extra] = spec.split(":");
  if (!token?.startsWith("hf_")) fail(`--token must start with hf_ (got ${spec.slice(0, 3)}...)`);
  if (user === "" || (role !== "read" && role !== "write") || extra.length > 0) fail(`--token must look like hf_x[:user[:read|write]] (got ${token.slice(0, 3)}...)`);
  tokens = { ...tokens, [token]: role === "write" ? user : { user, role } };
}

const privateNamespaces = values["private-namespace"] ?? [];
for (const ns of privateNamespaces) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ns)) fail(`--private-namespace must be a user or organization name, got ${JSON.stringify(ns)}`);
}

const faults = faultPlan();

const emulator = await startHubEmulator({
  storage: values.storage,
  port,
  host: values.host,
  pageSize,
  ...(tokens ? { tokens } : {}),
  ...(privateNamespaces.length > 0 ? { privateNamespaces } : {}),
  onFault: (entry) => {
    // The path without its query: LFS upload URLs carry signatures there.
    process.stderr.write(`hub-emulator: fault ${entry.fault} on ${entry.method} ${entry.path.split("?")[0]}\n`);
  },
});
if (faults) emulator.setFaults(faults);
// One write, so a reader that waits for the URL line gets the fault plan with it.
process.stdout.write(`Hub emulator listening on ${emulator.url}\n${faults ? describeFaults(faults) + "\n" : ""}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}

function describeFaults(plan: FaultPlan): string {
  const extras = [
    `seed ${plan.seed ?? 1}`,
    plan.match && `match ${plan.match}`,
    plan.maxFaults !== undefined && `at most ${plan.maxFaults}`,
    plan.kinds.includes("429") && `Retry-After ${plan.retryAfterSeconds ?? 1} s`,
    plan.kinds.includes("slow") && `slow ${plan.slowMs ?? 200} ms`,
    plan.kinds.includes("stall") && (plan.stallMs === undefined ? "stall until the client gives up" : `stall ${plan.stallMs} ms`),
  ].filter(Boolean);
  return `Injecting faults into ${Number((plan.rate * 100).toFixed(4))}% of requests: ${plan.kinds.join(", ")} (${extras.join(", ")})`;
}

/** The --fault-* flags as a FaultPlan; undefined without --fault-rate. Every mistake exits 2. */
function faultPlan(): FaultPlan | undefined {
  const rateText = values["fault-rate"];
  if (rateText === undefined) {
    const stray = ["fault-kinds", "fault-seed", "fault-match", "fault-max", "retry-after", "slow-ms", "stall-ms"].find((k) => values[k as keyof typeof values] !== undefined);
    if (stray) fail(`--${stray} needs --fault-rate`);
    return undefined;
  }
  const rate = number("--fault-rate", rateText, { min: 0, max: 1, what: "a number within 0..1" });
  const kindsText = values["fault-kinds"];
  if (kindsText === undefined) fail(`--fault-rate needs --fault-kinds (some of ${FAULT_KINDS.join(",")})`);
  const kinds = kindsText.split(",").map((k) => k.trim());
  for (const kind of kinds) {
    if (!FAULT_KINDS.includes(kind as FaultKind)) fail(`--fault-kinds: unknown kind ${JSON.stringify(kind)} (known: ${FAULT_KINDS.join(",")})`);
  }
  if (new Set(kinds).size !== kinds.length) fail(`--fault-kinds lists a kind twice: ${kindsText}`);
  const plan: FaultPlan = { rate, kinds: kinds as FaultKind[] };
  if (values["fault-seed"] !== undefined) plan.seed = number("--fault-seed", values["fault-seed"], { integer: true, min: 0, max: 2 ** 32 - 1, what: "an integer within 0..4294967295" });
  if (values["fault-max"] !== undefined) plan.maxFaults = number("--fault-max", values["fault-max"], { integer: true, min: 1, what: "a positive integer" });
  if (values["fault-match"] !== undefined) {
    try {
      plan.match = new RegExp(values["fault-match"]);
    } catch (error) {
      fail(`--fault-match is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // Each timing flag tunes one kind: given without that kind it is a mistake, not a no-op.
  const timing = [
    ["retry-after", "429", "retryAfterSeconds", "a number of seconds >= 0 (fractions allowed)"],
    ["slow-ms", "slow", "slowMs", "a number of milliseconds >= 0"],
    ["stall-ms", "stall", "stallMs", "a number of milliseconds >= 0"],
  ] as const;
  for (const [flag, kind, key, what] of timing) {
    const text = values[flag];
    if (text === undefined) continue;
    if (!plan.kinds.includes(kind)) fail(`--${flag} tunes the "${kind}" fault, which --fault-kinds does not list`);
    plan[key] = number(`--${flag}`, text, { min: 0, what });
  }
  return plan;
}
