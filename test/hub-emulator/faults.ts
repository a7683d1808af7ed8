/** Deterministic fault picking for the emulator (see FaultPlan in types.ts). */
import type { FaultKind, FaultPlan } from "./types.ts";
import { mulberry32 } from "../../src/common/seeded-random.ts";


export class FaultInjector {
  private plan: FaultPlan | null = null;
  private random: () => number = mulberry32(1);
  private applied = 0;

  set(plan: FaultPlan | null): void {
    if (plan) {
      if (!(plan.rate >= 0 && plan.rate <= 1)) throw new RangeError(`FaultPlan.rate must be within 0..1, got ${plan.rate}`);
      if (plan.kinds.length === 0 && plan.rate > 0) throw new RangeError("FaultPlan.kinds must not be empty");
    }
    this.plan = plan;
    this.random = mulberry32(plan?.seed ?? 1);
    this.applied = 0;
  }

  get retryAfterSeconds(): number {
    return this.plan?.retryAfterSeconds ?? 1;
  }

  get slowMs(): number {
    return this.plan?.slowMs ?? 200;
  }

  /** The fault for this request, if any. `key` is METHOD + " " + raw path. */
  pick(key: string): FaultKind | undefined {
    const plan = this.plan;
    if (!plan || plan.rate <= 0) return undefined;
    if (plan.match) {
      plan.match.lastIndex = 0; // a /g or /y regex keeps state between test() calls
      if (!plan.match.test(key)) return undefined;
    }
    if (plan.maxFaults !== undefined && this.applied >= plan.maxFaults) return undefined;
    if (this.random() >= plan.rate) return undefined;
    const kind = plan.kinds[Math.min(plan.kinds.length - 1, Math.floor(this.random() * plan.kinds.length))];
    if (kind) this.applied += 1;
    return kind;
  }
}
