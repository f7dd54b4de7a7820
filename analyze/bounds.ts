/**
 * Upper bounds on recovery time derived from rendered settings, each with the formula it used.
 * Pure. The drill prints these next to what it measured (`patroniFailoverBound`,
 * `sentinelFailoverBound`, `stackSwapBound`), so a bound and a measurement of the same settings can
 * be compared.
 */

/** A derived quantity (seconds) with the formula and the values that produced it. */
export interface Bound {
  readonly seconds: number;
  /** e.g. `ttl 20 + loop_wait 2 + retry_timeout 4 = 26s`. */
  readonly formula: string;
}

export interface PatroniTiming {
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
}

/**
 * The first Patroni release that raises short timeouts (patroni/config.py
 * `_validate_and_adjust_timeouts`, commit 9283ebda, released in v3.2.0): ttl >= 20,
 * loop_wait >= 1, retry_timeout >= 3, then `loop_wait + 2 * retry_timeout <= ttl` by lowering
 * loop_wait (or, at loop_wait 1, retry_timeout).
 */
export const PATRONI_FLOOR_VERSION = "3.2.0";

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(".").map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/**
 * The timing the deployed Patroni runs with: its floors applied as Patroni >= 3.2 applies them.
 * `version` undefined means "not known from the image": the floors are applied (the slower, so
 * the bound stays an upper bound whichever Patroni runs).
 */
export function effectivePatroniTiming(
  t: PatroniTiming,
  version?: string,
): PatroniTiming & { readonly adjusted: boolean } {
  if (version !== undefined && !versionAtLeast(version, PATRONI_FLOOR_VERSION))
    return { ...t, adjusted: false };
  let loopWait = Math.max(t.loopWait, 1);
  let retryTimeout = Math.max(t.retryTimeout, 3);
  const ttl = Math.max(t.ttl, 20);
  if (1 + 2 * retryTimeout > ttl) {
    loopWait = 1;
    retryTimeout = Math.floor((ttl - 1) / 2);
  } else if (loopWait + 2 * retryTimeout > ttl) loopWait = ttl - 2 * retryTimeout;
  const adjusted = ttl !== t.ttl || loopWait !== t.loopWait || retryTimeout !== t.retryTimeout;
  return { ttl, loopWait, retryTimeout, adjusted };
}

/**
 * Automatic Patroni failover after the leader's node or zone is lost: the leader lock outlives
 * the last renewal by at most `ttl`; a replica's next HA loop sees it expired within `loop_wait`;
 * taking the lock and promoting are DCS and PostgreSQL calls bounded by `retry_timeout`.
 */
export function patroniFailoverBound(t: PatroniTiming, version?: string): Bound {
  const e = effectivePatroniTiming(t, version);
  const seconds = e.ttl + e.loopWait + e.retryTimeout;
  const floors = e.adjusted
    ? ` (rendered ttl ${t.ttl} / loop_wait ${t.loopWait} / retry_timeout ${t.retryTimeout}, raised by Patroni >= ${PATRONI_FLOOR_VERSION}'s floors)`
    : "";
  return {
    seconds,
    formula: `ttl ${e.ttl} + loop_wait ${e.loopWait} + retry_timeout ${e.retryTimeout} = ${seconds}s${floors}`,
  };
}

/** Sentinel's fixed periods (src/sentinel.c): is-master-down-by-addr asks, the failover start
 * desynchronization, INFO polls of the promoted replica, and the election timeout cap. */
export const SENTINEL_CONSTANTS = {
  askPeriodMs: 1000,
  maxDesyncMs: 1000,
  infoPeriodMs: 1000,
  electionTimeoutMs: 10_000,
} as const;

export interface SentinelTiming {
  readonly downAfterMilliseconds: number;
  readonly failoverTimeout: number;
}

/**
 * Redis Sentinel failover, one attempt: the master is subjectively down after
 * `down-after-milliseconds`; the quorum's agreement (ODOWN) arrives within one ask period; the
 * failover starts up to one desync period later; the election is given at most
 * min(10 s, failover-timeout); the promoted replica's new role is seen at the next INFO (1 s).
 * Clients asking Sentinel get the promoted address from then on. A lost election retries after
 * 2 × failover-timeout (not in this bound).
 */
export function sentinelFailoverBound(t: SentinelTiming): Bound {
  const c = SENTINEL_CONSTANTS;
  const election = Math.min(c.electionTimeoutMs, t.failoverTimeout);
  const ms = t.downAfterMilliseconds + c.askPeriodMs + c.maxDesyncMs + election + c.infoPeriodMs;
  return {
    seconds: ms / 1000,
    formula: `down-after ${t.downAfterMilliseconds}ms + ODOWN ask ${c.askPeriodMs}ms + start desync ${c.maxDesyncMs}ms + election min(${c.electionTimeoutMs}, failover-timeout ${t.failoverTimeout})ms + INFO ${c.infoPeriodMs}ms = ${ms / 1000}s`,
  };
}

/**
 * What the stack swap needs that no setting states: the time to decide on a region failover
 * (page, confirm the region is lost) and to apply the target's stack. Stated, printed with every
 * region bound, and overridable (`drstack analyze --decision 10m --stack-update 5m`).
 */
export interface SwapAssumptions {
  readonly decisionSeconds: number;
  readonly stackUpdateSeconds: number;
}
export const DEFAULT_SWAP_ASSUMPTIONS: SwapAssumptions = {
  decisionSeconds: 300,
  stackUpdateSeconds: 300,
};
/** failover/swap.ts's default catch-up wait (`SwapEnvironment.catchUpTimeoutMs`). */
export const SWAP_CATCH_UP_SECONDS = 30;

/**
 * The stack swap to a standby site (failover/steps.ts: preflight, fence, catch-up, promote,
 * flip-config, update-stack, verify-writes): the decision, the catch-up wait, the target's Patroni
 * leaving standby mode (its next HA loop, then a promotion bounded by retry_timeout), and the
 * target's stack update (Redis and clients re-pointed).
 */
export function stackSwapBound(
  target: PatroniTiming,
  version?: string,
  a: SwapAssumptions = DEFAULT_SWAP_ASSUMPTIONS,
): Bound {
  const e = effectivePatroniTiming(target, version);
  const seconds =
    a.decisionSeconds + SWAP_CATCH_UP_SECONDS + e.loopWait + e.retryTimeout + a.stackUpdateSeconds;
  return {
    seconds,
    formula: `decision ${a.decisionSeconds}s (assumed) + catch-up ${SWAP_CATCH_UP_SECONDS}s + promote loop_wait ${e.loopWait} + retry_timeout ${e.retryTimeout} + stack update ${a.stackUpdateSeconds}s (assumed) = ${seconds}s`,
  };
}

/** The settings a drill runs with (the drill's `DrillSettings` fits structurally). */
export interface DrillTimings {
  readonly primaryPostgres: PatroniTiming;
  readonly standbyPostgres: PatroniTiming;
  readonly redis: SentinelTiming;
}

/**
 * The analysis's bounds for the drill's node, Redis and region scenarios, to print next to what
 * the drill measured (measured <= bound is the check). `patroniVersion` is the Patroni the drill
 * runs (`patroni --version`), so its floors apply exactly. The drill's stack swap is scripted: no
 * decision time and no stack update unless given.
 */
export function drillBounds(
  s: DrillTimings,
  patroniVersion?: string,
  swap: SwapAssumptions = { decisionSeconds: 0, stackUpdateSeconds: 0 },
): { readonly node: Bound; readonly redis: Bound; readonly region: Bound } {
  return {
    node: patroniFailoverBound(s.primaryPostgres, patroniVersion),
    redis: sentinelFailoverBound(s.redis),
    region: stackSwapBound(s.standbyPostgres, patroniVersion, swap),
  };
}
