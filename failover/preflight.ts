/**
 * Preflight decisions of a stack swap, pure: from probes of the target and the old primary and
 * the declared `region` objective, which checks pass, and whether to proceed, refuse, or proceed
 * because `--force` was given (recording why).
 */
import { formatDuration, type Objective } from "../components/topology/model";
import type { SiteProbe } from "./driver";

export interface PreflightCheck {
  /** `target-reachable`, `target-is-standby`, `target-healthy`, `replication-lag`, `backup-age`. */
  readonly name: string;
  readonly site: string;
  /** true pass, false fail; a check whose fact is unknown fails (it could not be proven). */
  readonly ok: boolean;
  readonly detail: string;
}

export interface Decision {
  readonly proceed: boolean;
  /** Failed checks proceeded over because of `--force`. */
  readonly forcedOver: readonly PreflightCheck[];
  /** Why the swap is refused (empty when it proceeds). */
  readonly refusedBecause: readonly PreflightCheck[];
}

/** The checks a failover to `target` must pass before anything is changed. */
export function failoverChecks(
  target: SiteProbe,
  objective: Objective | undefined,
): PreflightCheck[] {
  const site = target.site;
  const checks: PreflightCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) =>
    checks.push({ name, site, ok, detail });
  add(
    "target-reachable",
    target.reachable,
    target.reachable ? `reached (${target.source})` : `unreachable: ${target.detail}`,
  );
  if (!target.reachable) return checks;
  add(
    "target-is-standby",
    target.role === "standby",
    target.role === "standby"
      ? "is a standby cluster (standby_leader running)"
      : target.role === "primary"
        ? "already runs a writable primary: promoting would leave two primaries; fence or rejoin it first"
        : "has no leader running",
  );
  add(
    "target-healthy",
    target.healthy === true,
    target.healthy === true ? "leader and members running" : `not healthy: ${target.detail}`,
  );
  const rpo = objective?.rpoSeconds;
  const within = (what: string, seconds: number | undefined, extra = "") => {
    if (rpo === undefined) return { ok: false, detail: `no objectives.region.rpo declared` };
    if (seconds === undefined)
      return {
        ok: false,
        detail: `${what} unknown${extra}: cannot prove it is within RPO ${objective!.rpo}`,
      };
    return {
      ok: seconds <= rpo,
      detail: `${what} ${formatDuration(round(seconds))}${extra} ${seconds <= rpo ? "<=" : ">"} RPO ${objective!.rpo}`,
    };
  };
  const bytes = target.lagBytes === undefined ? "" : ` (${target.lagBytes} bytes)`;
  const lag = within("replication lag", target.lagSeconds, bytes);
  add("replication-lag", lag.ok, lag.detail);
  const backup = within("last successful backup/WAL archive age", target.lastBackupAgeSeconds);
  add("backup-age", backup.ok, backup.detail);
  return checks;
}

/** The checks a failback of `returning` (to follow `primary`) must pass. Not forcible. */
export function failbackChecks(returning: SiteProbe, primary: SiteProbe): PreflightCheck[] {
  return [
    {
      name: "primary-writable",
      site: primary.site,
      ok: primary.reachable && primary.role === "primary" && primary.writable === true,
      detail: primary.reachable
        ? primary.role === "primary" && primary.writable === true
          ? "the current primary accepts writes: the returning site can follow it"
          : `the current primary is not a writable primary (role ${primary.role ?? "unknown"}): nothing to follow`
        : `the current primary is unreachable: ${primary.detail}`,
    },
    {
      name: "returning-reachable",
      site: returning.site,
      ok: returning.reachable,
      detail: returning.reachable
        ? `reached (${returning.source}); role ${returning.role ?? "unknown"}${returning.writable ? ", accepts writes: it will be fenced first" : ""}`
        : `unreachable: ${returning.detail}`,
    },
  ];
}

/** Proceed when every check passed, or when `force` is set (every failed check recorded). */
export function decide(checks: readonly PreflightCheck[], force: boolean): Decision {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return { proceed: true, forcedOver: [], refusedBecause: [] };
  return force
    ? { proceed: true, forcedOver: failed, refusedBecause: [] }
    : { proceed: false, forcedOver: [], refusedBecause: failed };
}

function round(seconds: number): number {
  return seconds >= 10 ? Math.round(seconds) : Math.round(seconds * 1000) / 1000;
}
