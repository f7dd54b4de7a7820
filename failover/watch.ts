/**
 * Watching a site that comes back after a failover (the drill's `failback` scenario, and the
 * e2e test): poll it through the driver from the moment it is restarted until it runs as a
 * standby, and record every role seen and whether it was ever writable. A returning site that
 * was fenced in its DCS must never be.
 */
import type { SiteDriver } from "./driver";

export interface ReturnWatch {
  readonly site: string;
  /** Roles seen, in order of first sight (`unreachable` while it does not answer). */
  readonly roles: readonly string[];
  /** Times (ms since the watch started) at which a probe saw it writable. */
  readonly writableAtMs: readonly number[];
  /** It ran as a read-only standby at the end of the watch. */
  readonly settledAsStandby: boolean;
  readonly durationMs: number;
  readonly probes: number;
}

/**
 * Polls `site` every `pollMs` until it has been a running, read-only standby for `settleMs`
 * (default 3 s) or `timeoutMs` (default 120 s) passes. Never throws for an unreachable site.
 */
export async function watchReturningSite(
  driver: SiteDriver,
  site: string,
  opts: {
    readonly timeoutMs?: number;
    readonly pollMs?: number;
    readonly settleMs?: number;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly clock?: () => number;
  } = {},
): Promise<ReturnWatch> {
  const clock = opts.clock ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const t0 = clock();
  const roles: string[] = [];
  const writableAtMs: number[] = [];
  let standbySince: number | undefined;
  let probes = 0;
  for (;;) {
    const p = await driver.probe(site);
    probes++;
    const now = clock() - t0;
    const role = p.reachable ? (p.role ?? "unknown") : "unreachable";
    if (!roles.includes(role)) roles.push(role);
    if (p.reachable && p.writable) writableAtMs.push(now);
    const standby = p.reachable && p.role === "standby" && p.writable === false;
    standbySince = standby ? (standbySince ?? now) : undefined;
    const settled = standbySince !== undefined && now - standbySince >= (opts.settleMs ?? 3000);
    if (settled || now >= (opts.timeoutMs ?? 120_000))
      return { site, roles, writableAtMs, settledAsStandby: settled, durationMs: now, probes };
    await sleep(opts.pollMs ?? 200);
  }
}
