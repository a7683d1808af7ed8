/** Deterministic fault picking for the emulator (see FaultPlan in types.ts). */
import { FAULT_KINDS, type FaultKind, type FaultPlan } from "./types.ts";
import { mulberry32 } from "../../src/common/seeded-random.ts";


export class FaultInjector {
  private plan: FaultPlan | null = null;
  private random: () => number = mulberry32(1);
  private applied = 0;

  set(plan: FaultPlan | null): void {
    if (plan) {
      if (!(plan.rate >= 0 && plan.rate <= 1)) throw new RangeError(`FaultPlan.rate must be within 0..1, got ${plan.rate}`);
      if (plan.kinds.length === 0 && plan.rate > 0) throw new RangeError("FaultPlan.kinds must not be empty");
      const unknown = plan.kinds.find((kind) => !FAULT_KINDS.includes(kind));
      if (unknown !== undefined) throw new RangeError(`FaultPlan.kinds: unknown kind ${JSON.stringify(unknown)} (known: ${FAULT_KINDS.join(", ")})`);
      for (const key of ["retryAfterSeconds", "slowMs", "stallMs"] as const) {
        const value = plan[key];
        if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new RangeError(`FaultPlan.${key} must be a finite number >= 0, got ${value}`);
      }
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

  /** Undefined: hold a stalled socket until the client gives up or the emulator closes. */
  get stallMs(): number | undefined {
    return this.plan?.stallMs;
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
