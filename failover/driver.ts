/**
 * Site drivers: the operations a stack swap performs on a site's database and stack, behind one
 * interface, so the same orchestration (`runFailover`, `runFailback`) drives Kubernetes sites
 * (Patroni REST through the cluster + `pulumi up` through the Automation API), the local drill's
 * sites (Patroni REST by URL on loopback) and an in-memory model in tests.
 *
 * Every method names a site of `stacks/network.yaml` by its `name`. Methods never throw for an
 * unreachable or failing site: they return `ok: false` with a `detail` saying what happened, so
 * the orchestration decides (refuse, require `--force`, or stop) and logs it. They may throw only
 * for programming errors (e.g. a site the driver was not configured with).
 */

/** What a probe sees of one site's PostgreSQL (Patroni) cluster. */
export interface SiteProbe {
  readonly site: string;
  /** Whether the site's Patroni REST API answered at all. */
  readonly reachable: boolean;
  /**
   * Cluster role as Patroni reports its leader: `primary` (writable leader), `standby` (a standby
   * cluster's `standby_leader`, replicating from another site), `none` (no leader running).
   * Undefined when unreachable.
   */
  readonly role?: "primary" | "standby" | "none";
  /** Whether the leader accepts writes right now (not in recovery). */
  readonly writable?: boolean;
  /** Leader running and every member streaming or running. */
  readonly healthy?: boolean;
  /** Members as Patroni lists them (`GET /cluster`). */
  readonly members?: readonly { name: string; role: string; state: string; lagBytes?: number }[];
  /** WAL position of the leader: written (primary) or received (standby), as a byte offset. */
  readonly walBytes?: number;
  /** Standby: bytes of WAL the site lacks compared to the primary (undefined: unknown). */
  readonly lagBytes?: number;
  /** Standby: seconds of commits the site lacks compared to the primary (undefined: unknown). */
  readonly lagSeconds?: number;
  /** Age in seconds of the newest recoverable point in the site's backup repository (last
   * archived WAL, else the end of the last successful backup); undefined when unknown. */
  readonly lastBackupAgeSeconds?: number;
  /** PostgreSQL timeline of the leader. */
  readonly timeline?: number;
  /** Where the facts came from: `patroni http://…`, `stack outputs`, `memory`. */
  readonly source: string;
  /** One line for the timeline (what was seen, or why the site could not be probed). */
  readonly detail: string;
}

/** Outcome of an action on a site. */
export interface ActionResult {
  readonly ok: boolean;
  /** One line for the timeline: what was done and what was observed. */
  readonly detail: string;
  /** Facts the action observed (LSNs, HTTP statuses, stack update summary...). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Outcome of fencing a primary site. */
export interface FenceResult extends ActionResult {
  /** The site was reached and is confirmed not to accept writes (checked after the action). */
  readonly confirmed: boolean;
  /** The site could not be reached: fencing could not be confirmed. */
  readonly unreachable: boolean;
  /** WAL position of the fenced site when it stopped accepting writes (for the catch-up wait). */
  readonly finalWalBytes?: number;
}

/** Outcome of a write check. */
export interface WriteCheck extends ActionResult {
  /** Token written and read back (unique per check). */
  readonly token?: string;
}

/** How a returning site is re-seeded as a standby of the new primary. */
export type Reseed = "rewind" | "basebackup";

export interface SiteDriver {
  /** `memory`, `kubernetes`, `local`... */
  readonly kind: string;
  /** One line: what this driver talks to. */
  describe(): string;
  /** Health, role, replication lag and backup age of a site. */
  probe(site: string): Promise<SiteProbe>;
  /**
   * Stops a primary site from accepting writes, and confirms it (a probe after the action sees it
   * read-only). The Kubernetes and local drivers make the cluster a standby cluster of
   * `newPrimary` (Patroni `PATCH /config` with `standby_cluster`), which demotes its leader.
   */
  fence(site: string, ctx: { readonly newPrimary: string }): Promise<FenceResult>;
  /**
   * Optional: when a site's Patroni cannot be reached, writes `standby_cluster` (pointing at
   * `newPrimary`) straight into the site's DCS (etcd key `<namespace><scope>/config`; on
   * Kubernetes the `<scope>-config` object's `config` annotation), so that when its Patroni
   * runs again it starts as a standby and never as a primary. It does not confirm a fence: a
   * Patroni that is running but partitioned keeps its role until it reads the DCS.
   */
  fenceDcs?(site: string, ctx: { readonly newPrimary: string }): Promise<ActionResult>;
  /** Makes a standby cluster leave standby mode (Patroni `PATCH /config {"standby_cluster": null}`)
   * and waits until its leader accepts writes. */
  promote(site: string): Promise<ActionResult>;
  /**
   * Brings a site back as a standby cluster of `primary`, re-seeded by pg_rewind or a fresh base
   * backup; it never starts as a primary. Waits until it streams from `primary`.
   */
  rejoinAsStandby(
    site: string,
    ctx: { readonly primary: string; readonly reseed: Reseed },
  ): Promise<ActionResult>;
  /**
   * Applies the site's stack with the flipped topology (`pulumi up` for Kubernetes sites: Patroni
   * config without standby_cluster, Redis/clients re-pointed, gateway/DNS record moved). Drivers
   * whose sites have no stack return `ok: true` with `data.skipped = true`.
   */
  updateStack(site: string, ctx: { readonly networkFile: string }): Promise<ActionResult>;
  /** Writes a unique row on the site's leader, reads it back, and reports the time taken. */
  verifyWrites(site: string): Promise<WriteCheck>;
  /** Releases connections/tunnels the driver opened. */
  close?(): Promise<void>;
}

/** A result with the wall-clock time of its start and its duration. */
export type Timed<T> = T & {
  /** ISO-8601 UTC time the call started. */
  readonly startedAt: string;
  readonly durationMs: number;
};

/** Runs `fn` and stamps its result with its start time and duration (errors propagate). */
export async function timed<T extends object>(
  fn: () => Promise<T>,
  now: () => number = Date.now,
  clock: () => number = () => performance.now(),
): Promise<Timed<T>> {
  const startedAt = new Date(now()).toISOString();
  const t0 = clock();
  const value = await fn();
  return { ...value, startedAt, durationMs: clock() - t0 };
}

/** Parses a PostgreSQL LSN (`16/B374D848`) into a byte offset. */
export function lsnToBytes(lsn: string): number {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(lsn)}`);
  return parseInt(m[1], 16) * 2 ** 32 + parseInt(m[2], 16);
}

/** Formats a byte offset as a PostgreSQL LSN. */
export function bytesToLsn(bytes: number): string {
  const hi = Math.floor(bytes / 2 ** 32);
  const lo = bytes - hi * 2 ** 32;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}
