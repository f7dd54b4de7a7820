/**
 * The pure part of the drill: which scenarios run, run results, statistics over runs, verdicts
 * against the objectives declared in `stacks/network.yaml`.
 */
import type { Objective, Scenario } from "../components/topology/model";

export const SCENARIOS = [
  "node-failover",
  "node-drain",
  "switchover",
  "redis-failover",
  "backup-restore",
  "region-failover",
  "failback",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** `node-failover` with Patroni's default timing (ttl 30, loop_wait 10, retry_timeout 10). */
export const BASELINE = "node-failover-baseline";
export type PlannedScenario = ScenarioName | typeof BASELINE;

/** Patroni's own defaults, for the baseline. */
export const PATRONI_DEFAULT_TIMING = { ttl: 30, loopWait: 10, retryTimeout: 10 } as const;

/** The objective each scenario is checked against (`undefined`: informational only). */
export const OBJECTIVE_OF: Readonly<Record<PlannedScenario, Scenario | undefined>> = {
  "node-failover": "node",
  "node-drain": "node",
  switchover: "node",
  "redis-failover": "node",
  "backup-restore": "corruption",
  "region-failover": "region",
  /** Failback is not a failure: its checks decide (the old site never writes, nothing lost). */
  failback: undefined,
  [BASELINE]: undefined,
};

/**
 * Scenarios to run, in a safe order (region-failover and failback last: they consume the
 * primary site), from
 * the requested names (empty: all). Throws with the valid names on an unknown one. Pure.
 */
export function selectScenarios(
  requested: readonly string[],
  baseline: boolean,
): PlannedScenario[] {
  const unknown = requested.filter((r) => !(SCENARIOS as readonly string[]).includes(r));
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario ${unknown.map((u) => JSON.stringify(u)).join(", ")}; choose from ${SCENARIOS.join(", ")}`,
    );
  const want = new Set(requested.length === 0 ? SCENARIOS : requested);
  const out: PlannedScenario[] = [];
  for (const s of SCENARIOS) {
    if (!want.has(s)) continue;
    out.push(s);
    if (s === "node-failover" && baseline) out.push(BASELINE);
  }
  if (baseline && !want.has("node-failover")) out.unshift(BASELINE);
  return out;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** One run of one scenario. Every figure is measured. */
export interface RunResult {
  readonly scenario: PlannedScenario;
  readonly run: number;
  /** Set when the run could not complete (its figures are then missing). */
  readonly error?: string;
  /** Recovery time in seconds (scenario-specific definition, see `rtoDefinition`). */
  readonly rtoSeconds?: number;
  /** Acknowledged writes missing afterwards. */
  readonly lostWrites?: number;
  /** Data loss in seconds: from the oldest lost acknowledged write to the failure (0: none lost). */
  readonly rpoSeconds?: number;
  readonly acknowledgedWrites?: number;
  /** Scenario-specific measurements (seconds, bytes, names). */
  readonly measures: Readonly<Record<string, number | string | boolean>>;
  readonly checks: readonly Check[];
}

export interface Summary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly n: number;
}

/** min / median / max of `values` (undefined when empty). Pure. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s[s.length - 1], n: s.length };
}

/**
 * RPO in seconds from the acknowledgement times of lost writes and the failure time (ms):
 * the age of the oldest lost acknowledged write when the failure happened; 0 when none is lost.
 */
export function rpoSeconds(lostAckTimesMs: readonly number[], failureAtMs: number): number {
  if (lostAckTimesMs.length === 0) return 0;
  return Math.max(0, (failureAtMs - Math.min(...lostAckTimesMs)) / 1000);
}

export type Verdict = "pass" | "fail" | "error" | "info";

export interface ScenarioSummary {
  readonly scenario: PlannedScenario;
  readonly objective?: { readonly name: Scenario; readonly rto: string; readonly rpo: string };
  readonly runs: number;
  readonly errors: number;
  readonly rto?: Summary;
  readonly rpo?: Summary;
  readonly lostWrites?: Summary;
  readonly verdict: Verdict;
  /** Why it failed (empty when it passed). */
  readonly reasons: readonly string[];
}

/**
 * Verdict of a scenario over its runs: `error` if any run errored, `fail` if any run missed the
 * objective (RTO above `rtoSeconds`, RPO above `rpoSeconds`, a lost write when the RPO is 0) or
 * a check, `info` when the scenario has no objective, else `pass`. Pure.
 */
export function judge(
  scenario: PlannedScenario,
  runs: readonly RunResult[],
  objectives: Readonly<Partial<Record<Scenario, Objective>>>,
): ScenarioSummary {
  const name = OBJECTIVE_OF[scenario];
  const obj = name ? objectives[name] : undefined;
  const num = (k: "rtoSeconds" | "rpoSeconds" | "lostWrites") =>
    runs.map((r) => r[k]).filter((v): v is number => typeof v === "number");
  const reasons: string[] = [];
  const errors = runs.filter((r) => r.error !== undefined);
  for (const r of errors) reasons.push(`run ${r.run}: ${r.error}`);
  for (const r of runs)
    for (const c of r.checks)
      if (!c.ok)
        reasons.push(`run ${r.run}: check failed: ${c.name}${c.detail ? ` (${c.detail})` : ""}`);
  if (obj) {
    for (const r of runs) {
      if (r.rtoSeconds !== undefined && r.rtoSeconds > obj.rtoSeconds)
        reasons.push(`run ${r.run}: RTO ${r.rtoSeconds.toFixed(2)}s > objective ${obj.rto}`);
      if (r.rpoSeconds !== undefined && r.rpoSeconds > obj.rpoSeconds)
        reasons.push(`run ${r.run}: RPO ${r.rpoSeconds.toFixed(3)}s > objective ${obj.rpo}`);
      if (obj.rpoSeconds === 0 && (r.lostWrites ?? 0) > 0)
        reasons.push(`run ${r.run}: ${r.lostWrites} acknowledged writes lost, objective RPO 0`);
    }
  }
  const verdict: Verdict =
    errors.length > 0 || runs.length === 0
      ? "error"
      : reasons.length > 0
        ? "fail"
        : obj
          ? "pass"
          : "info";
  if (runs.length === 0) reasons.push("no run completed");
  const rto = summarize(num("rtoSeconds"));
  const rpo = summarize(num("rpoSeconds"));
  const lost = summarize(num("lostWrites"));
  return {
    scenario,
    ...(name && obj ? { objective: { name, rto: obj.rto, rpo: obj.rpo } } : {}),
    runs: runs.length,
    errors: errors.length,
    ...(rto ? { rto } : {}),
    ...(rpo ? { rpo } : {}),
    ...(lost ? { lostWrites: lost } : {}),
    verdict,
    reasons,
  };
}

/** Ratio `a / b`, rounded to 2 decimals; undefined if either is missing or b is 0. Pure. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return Math.round((a / b) * 100) / 100;
}
