/**
 * Types of a stack swap's report and the timeline that times and logs each step (shared by
 * failover, failback and the swap back).
 */
import type { ActionResult, Reseed, SiteDriver, SiteProbe } from "./driver";
import type { RoleFlip } from "./flip";
import type { PreflightCheck } from "./preflight";
import type { PlannedStep, StepName } from "./steps";

export type StepStatus = "ok" | "failed" | "forced" | "skipped" | "refused";

export interface StepRecord {
  readonly step: StepName;
  readonly site: string;
  readonly status: StepStatus;
  /** ISO-8601 UTC. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** Milliseconds since the operation started (the timeline's offset). */
  readonly offsetMs: number;
  readonly detail: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface SwapReport {
  readonly operation: "failover" | "failback";
  readonly outcome: "completed" | "refused" | "failed";
  /** Old and new primary (failback: the returning site in `site`). */
  readonly from: string;
  readonly to: string;
  readonly driver: string;
  readonly forced: boolean;
  readonly reason?: string;
  readonly preflight: readonly PreflightCheck[];
  /** The role edits made to the topology file (empty when it was not changed). */
  readonly configEdits: RoleFlip["edits"];
  readonly steps: readonly StepRecord[];
  readonly startedAt: string;
  readonly durationMs: number;
  /** Why the operation stopped, when it did not complete. */
  readonly stoppedBecause?: string;
}

export interface SwapEnvironment {
  readonly driver: SiteDriver;
  /** Current text of the topology file, and its name for messages. */
  readonly networkText: string;
  readonly networkFile: string;
  /** Stores the flipped topology; returns the path stacks should read (for `updateStack`). */
  writeNetwork(text: string): Promise<string>;
  /** Receives each step as it finishes (the live log). */
  log?(step: StepRecord): void;
  /** Wall clock (ms since epoch). Default Date.now. */
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** How long `catch-up` waits for the target to receive the fenced primary's WAL. Default 30 s. */
  catchUpTimeoutMs?: number;
  /** Poll interval of waits. Default 250 ms. */
  pollMs?: number;
}

export interface FailoverOptions {
  readonly target: string;
  /** Proceed over failed preflight checks and unconfirmed fencing. Requires `reason`. */
  readonly force?: boolean;
  readonly reason?: string;
}

export interface FailbackOptions {
  readonly site: string;
  readonly reseed?: Reseed;
  /** After rejoining, swap back: demote the current primary, then promote `site`. */
  readonly swapBack?: boolean;
  /** Swap back over failed preflight checks of `site` (never over an unconfirmed fence or a
   * catch-up that did not finish). Requires `reason` and `swapBack`. */
  readonly force?: boolean;
  readonly reason?: string;
}

export class Timeline {
  readonly steps: StepRecord[] = [];
  readonly t0: number;
  readonly startedAt: string;
  constructor(private readonly env: SwapEnvironment) {
    this.t0 = performance.now();
    this.startedAt = new Date(this.now()).toISOString();
  }
  now(): number {
    return this.env.now ? this.env.now() : Date.now();
  }
  async run<T extends ActionResult>(
    planned: PlannedStep,
    fn: () => Promise<T>,
    status: (r: T) => StepStatus = (r) => (r.ok ? "ok" : "failed"),
    adjust: (r: T, record: StepRecord) => StepRecord = (_r, record) => record,
  ): Promise<{ result: T; record: StepRecord }> {
    const startedAt = new Date(this.now()).toISOString();
    const t = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      result = { ok: false, detail: `error: ${(e as Error).message}` } as T;
    }
    const record: StepRecord = adjust(result, {
      step: planned.step,
      site: planned.site,
      status: status(result),
      startedAt,
      durationMs: performance.now() - t,
      offsetMs: t - this.t0,
      detail: result.detail,
      ...(result.data ? { data: result.data } : {}),
    });
    this.add(record);
    return { result, record };
  }
  add(record: StepRecord): void {
    this.steps.push(record);
    this.env.log?.(record);
  }
  get elapsed(): number {
    return performance.now() - this.t0;
  }
}

export function skipped(tl: Timeline, planned: PlannedStep, why: string): StepRecord {
  return {
    step: planned.step,
    site: planned.site,
    status: "skipped",
    startedAt: new Date(tl.now()).toISOString(),
    durationMs: 0,
    offsetMs: tl.elapsed,
    detail: `skipped: ${why}`,
  };
}

export function describeProbe(p: SiteProbe): string {
  if (!p.reachable) return `unreachable (${p.detail})`;
  const parts = [`role ${p.role ?? "unknown"}`, p.writable ? "writable" : "read-only"];
  if (p.lagSeconds !== undefined) parts.push(`lag ${p.lagSeconds}s`);
  if (p.lagBytes !== undefined) parts.push(`lag ${p.lagBytes} bytes`);
  if (p.timeline !== undefined) parts.push(`timeline ${p.timeline}`);
  return parts.join(", ");
}
