/**
 * The steps of a stack swap, as a pure plan: what `drstack failover` / `failback` will do, in
 * order, to which site. `--dry-run` prints this list; the orchestration runs exactly it.
 */

export type StepName =
  | "preflight"
  | "fence"
  | "catch-up"
  | "promote"
  | "flip-config"
  | "update-stack"
  | "verify-writes"
  | "rejoin"
  | "verify-standby";

export interface PlannedStep {
  readonly step: StepName;
  readonly site: string;
  /** What the step does, in one sentence. */
  readonly action: string;
}

export interface FailoverPlanInput {
  readonly oldPrimary: string;
  readonly target: string;
  readonly networkFile: string;
}

/** The steps of `failover --to target`: fence strictly before promote. */
export function failoverSteps(p: FailoverPlanInput): PlannedStep[] {
  return [
    {
      step: "preflight",
      site: p.target,
      action: `probe ${p.target} and ${p.oldPrimary}: ${p.target} must be a healthy standby whose replication lag and last backup age are within the region RPO`,
    },
    {
      step: "fence",
      site: p.oldPrimary,
      action: `stop ${p.oldPrimary} accepting writes (make it a standby cluster of ${p.target}) and confirm it is read-only; unreachable needs --force`,
    },
    {
      step: "catch-up",
      site: p.target,
      action: `wait until ${p.target} has received the fenced primary's last WAL position`,
    },
    {
      step: "promote",
      site: p.target,
      action: `leave standby mode on ${p.target} (Patroni standby_cluster removed) and wait for a writable leader`,
    },
    {
      step: "flip-config",
      site: p.target,
      action: `set ${p.target} role: primary and ${p.oldPrimary} role: standby in ${p.networkFile}`,
    },
    {
      step: "update-stack",
      site: p.target,
      action: `apply stack ${p.target} with the flipped topology (Patroni without standby_cluster, Redis and clients re-pointed, gateway/DNS moved)`,
    },
    {
      step: "verify-writes",
      site: p.target,
      action: `write and read back a unique row on ${p.target}'s leader`,
    },
  ];
}

export interface FailbackPlanInput {
  /** The returning site (a standby in the topology). */
  readonly site: string;
  /** The current primary. */
  readonly primary: string;
  readonly reseed: "rewind" | "basebackup";
  readonly swapBack: boolean;
  readonly networkFile: string;
}

/** The steps of `failback --site S [--swap-back]`: rejoin as standby first; a swap back demotes
 * the current primary before promoting the returning site. */
export function failbackSteps(p: FailbackPlanInput): PlannedStep[] {
  const rejoin: PlannedStep[] = [
    {
      step: "preflight",
      site: p.site,
      action: `probe ${p.site} and ${p.primary}: ${p.primary} must be a writable primary and ${p.site} reachable`,
    },
    {
      step: "fence",
      site: p.site,
      action: `if ${p.site} still accepts writes, make it read-only before anything else (it must never act as a primary)`,
    },
    {
      step: "rejoin",
      site: p.site,
      action: `make ${p.site} a standby cluster of ${p.primary}, re-seeded by ${p.reseed === "rewind" ? "pg_rewind (a fresh base backup when rewind is impossible)" : "a fresh base backup"}`,
    },
    {
      step: "update-stack",
      site: p.site,
      action: `apply stack ${p.site} as a standby following ${p.primary}`,
    },
    {
      step: "verify-standby",
      site: p.site,
      action: `confirm ${p.site} is read-only and streaming from ${p.primary}`,
    },
  ];
  if (!p.swapBack) return rejoin;
  return [
    ...rejoin,
    ...failoverSteps({ oldPrimary: p.primary, target: p.site, networkFile: p.networkFile }).map(
      (s) => ({ ...s, action: `swap back: ${s.action}` }),
    ),
    {
      step: "rejoin",
      site: p.primary,
      action: `swap back: make ${p.primary} a standby cluster of ${p.site} (pg_rewind)`,
    },
    {
      step: "update-stack",
      site: p.primary,
      action: `swap back: apply stack ${p.primary} as a standby following ${p.site}`,
    },
    {
      step: "verify-standby",
      site: p.primary,
      action: `swap back: confirm ${p.primary} is read-only and streaming from ${p.site}`,
    },
  ];
}

export function formatSteps(steps: readonly PlannedStep[]): string {
  const width = Math.max(...steps.map((s) => s.step.length));
  return steps
    .map((s, i) => `${String(i + 1).padStart(2)}. ${s.step.padEnd(width)}  [${s.site}] ${s.action}`)
    .join("\n");
}
