#!/usr/bin/env -S GLIBC_TUNABLES=${GLIBC_TUNABLES}:glibc.malloc.hugetlb=1:glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=4194304 node --max-semi-space-size=2
// The shebang asks glibc (>= 2.35; others ignore it) to back large allocations with transparent
// huge pages. On the team's VM every fresh 4 KiB page costs ~13 us to fault in: reading a 57 MB
// embeddings file took 14,000 faults and ~0.19 s of CPU, 0.04-0.09 s with huge pages
// (BENCHMARKS.md). Run as `node bin/idclusters.js` it works the same, without that tuning.
// The CLI runs the TypeScript sources through tsx: no build step, so `npx idclusters` works
// right after `npm ci` and a checkout is always what runs.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
