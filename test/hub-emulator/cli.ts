/**
 * `npm run hub:emulator -- --port <p> --storage <dir> [--page-size n] [--host h] [--token hf_x[:user] ...]`
 * Starts the Hub emulator, prints `Hub emulator listening on <url>` and runs until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startHubEmulator } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    storage: { type: "string" },
    "page-size": { type: "string", default: "5" },
    token: { type: "string", multiple: true },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`hub-emulator: ${message}\n`);
  process.exit(2);
}

if (!values.storage) fail("--storage <dir> is required");
const port = Number(values.port);
const pageSize = Number(values["page-size"]);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got ${values.port}`);
if (!Number.isInteger(pageSize) || pageSize < 1) fail(`--page-size must be a positive integer, got ${values["page-size"]}`);
let tokens: Record<string, string> | undefined;
for (const spec of values.token ?? []) {
  const [token, user = "tester"] = spec.split(":");
  if (!token?.startsWith("hf_")) fail(`--token must start with hf_ (got ${spec.slice(0, 3)}...)`);
  tokens = { ...tokens, [token]: user };
}

const emulator = await startHubEmulator({ storage: values.storage, port, host: values.host, pageSize, ...(tokens ? { tokens } : {}) });
process.stdout.write(`Hub emulator listening on ${emulator.url}\n`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
