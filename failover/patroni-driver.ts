/**
 * The site driver for real Patroni clusters, whatever the transport: the local drill's sites
 * (REST by URL on loopback, psql over TCP) and Kubernetes sites (REST through `kubectl proxy`,
 * psql through `kubectl exec`) differ only in their {@link PatroniSiteAccess}.
 *
 * What each operation does (exactly):
 * - probe: `GET /cluster` (members, leader, health), `GET /patroni` on the leader (role, WAL
 *   position, last replayed commit time), the same on the upstream (the topology's primary) for
 *   the lag, `pgbackrest info --output=json` + `pg_stat_archiver` for the backup age.
 * - fence: `PATCH /config {"standby_cluster": {host, port, create_replica_methods}}` with the new
 *   primary's replication endpoint: Patroni shuts its leader down cleanly (walsenders flush every
 *   WAL record to the standbys) and restarts it as a read-only `standby_leader`. Confirmed when
 *   `GET /patroni` of every member reports a non-writable role.
 * - promote: `PATCH /config {"standby_cluster": null}`; done when the leader reports `primary`.
 * - rejoin as standby: the same PATCH as fence, pointing at the current primary; with `rewind`
 *   Patroni (`use_pg_rewind: true`) rewinds a diverged leader; with `basebackup` the site's
 *   `reseedFresh` wipes the members so they bootstrap from the primary by a fresh base backup.
 *   Done when the leader streams and has received the primary's current WAL position.
 * - verify writes: `CREATE TABLE IF NOT EXISTS drstack_failover_checks`, `INSERT` a unique token,
 *   `SELECT` it back, on the leader.
 */
import type {
  ActionResult,
  FenceResult,
  Reseed,
  SiteDriver,
  SiteProbe,
  WriteCheck,
} from "./driver";
import {
  backupAgeSeconds,
  type ClusterView,
  describeFetchError,
  type LeaderStatus,
  memberBase,
  PatroniApi,
  type PatroniMemberView,
  standbyLag,
  type UnsafeSender,
} from "./patroni";

export interface PatroniSiteAccess {
  /** REST base URLs of the site's members (e.g. `http://127.0.0.1:15620`). */
  restUrls(): Promise<readonly string[]>;
  /** The base URL of one member as listed by `GET /cluster`. Default: its `api_url`. */
  memberUrl?(member: PatroniMemberView): string | undefined;
  /** Where other sites replicate from when this site is the primary. */
  replicationEndpoint(): Promise<{ readonly host: string; readonly port: number }>;
  /** Runs SQL on the site's leader (read-write session); resolves psql's unaligned output. */
  sql(query: string, leader: PatroniMemberView): Promise<string>;
  /** `pgbackrest info --output=json` of the site's repository. */
  backupInfo?(leader: PatroniMemberView): Promise<unknown>;
  /** Merges `patch` into the dynamic configuration stored in the site's DCS, without Patroni
   * (keys set to null are removed); resolves a one-line description of what was written. */
  writeDcsConfig?(patch: Readonly<Record<string, unknown>>): Promise<string>;
  /** Re-creates the members with empty data (they bootstrap from the standby_cluster source). */
  reseedFresh?(): Promise<void>;
  /** Extra `standby_cluster` fields (e.g. `restore_command`, `primary_slot_name`). */
  readonly standbyClusterExtras?: Readonly<Record<string, unknown>>;
  /** HTTP headers for the REST API (e.g. basic auth). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Carries the authenticated (unsafe) calls when `restUrls` cannot (the API server's pod
   * proxy drops `Authorization`). Default: `fetch` with `headers`. */
  readonly unsafe?: UnsafeSender;
}

export interface StackUpdater {
  /** Applies the site's stack; `ok: true, data.skipped` when the sites have no stacks. */
  update(site: string, networkFile: string): Promise<ActionResult>;
}

export interface PatroniDriverOptions {
  readonly kind: string;
  readonly sites: Readonly<Record<string, PatroniSiteAccess>>;
  /** The site a standby is compared with for its lag (the topology's primary). */
  upstreamOf(site: string): string | undefined;
  readonly stacks?: StackUpdater;
  readonly fenceTimeoutMs?: number;
  readonly promoteTimeoutMs?: number;
  readonly rejoinTimeoutMs?: number;
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly description?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class PatroniDriver implements SiteDriver {
  readonly kind: string;
  private readonly now: () => number;

  constructor(private readonly opts: PatroniDriverOptions) {
    this.kind = opts.kind;
    this.now = opts.now ?? Date.now;
  }

  describe(): string {
    return (
      this.opts.description ??
      `Patroni REST API of sites ${Object.keys(this.opts.sites).join(", ")}`
    );
  }

  private access(site: string): PatroniSiteAccess {
    const a = this.opts.sites[site];
    if (!a)
      throw new Error(
        `driver ${this.kind} has no endpoints for site ${site} (configured: ${Object.keys(this.opts.sites).join(", ")})`,
      );
    return a;
  }

  private async api(site: string): Promise<PatroniApi> {
    const a = this.access(site);
    return new PatroniApi(await a.restUrls(), 3000, { ...(a.headers ?? {}) }, a.unsafe);
  }

  private memberUrl(site: string, m: PatroniMemberView | undefined): string | undefined {
    if (!m) return undefined;
    return this.access(site).memberUrl?.(m) ?? memberBase(m);
  }

  /** Cluster view and the leader's status; throws when the site does not answer. */
  private async look(
    site: string,
  ): Promise<{ api: PatroniApi; view: ClusterView; leader?: LeaderStatus }> {
    const api = await this.api(site);
    const view = await api.cluster();
    const base = this.memberUrl(site, view.leader);
    const leader = base ? await api.status(base).catch(() => undefined) : undefined;
    return { api, view, ...(leader ? { leader } : {}) };
  }

  async probe(site: string): Promise<SiteProbe> {
    const source = `patroni ${(await this.access(site).restUrls())[0] ?? "?"}`;
    let seen: Awaited<ReturnType<PatroniDriver["look"]>>;
    try {
      seen = await this.look(site);
    } catch (e) {
      return { site, reachable: false, source, detail: describeFetchError(e) };
    }
    const { view, leader } = seen;
    const now = this.now();
    const upstream = this.opts.upstreamOf(site);
    let lag: { lagBytes?: number; lagSeconds?: number } = {};
    if (view.role === "standby" && leader && upstream && upstream !== site) {
      const up = await this.look(upstream).catch(() => undefined);
      lag = standbyLag(leader, up?.leader, now);
    }
    let lastBackupAgeSeconds: number | undefined;
    const a = this.access(site);
    if (a.backupInfo && view.leader) {
      const info = await a.backupInfo(view.leader).catch(() => undefined);
      const archived = upstream ? await this.lastArchivedAt(upstream) : undefined;
      lastBackupAgeSeconds = backupAgeSeconds(info, now, archived);
    }
    return {
      site,
      reachable: true,
      role: view.role,
      writable: leader?.writable ?? false,
      healthy: view.healthy,
      members: view.members.map((m) => ({
        name: m.name,
        role: m.role,
        state: m.state,
        ...(m.lagBytes !== undefined ? { lagBytes: m.lagBytes } : {}),
      })),
      ...(leader?.walBytes !== undefined ? { walBytes: leader.walBytes } : {}),
      ...lag,
      ...(lastBackupAgeSeconds !== undefined ? { lastBackupAgeSeconds } : {}),
      ...(leader?.timeline !== undefined ? { timeline: leader.timeline } : {}),
      source,
      detail: `leader ${view.leader?.name ?? "none"} (${view.leader?.role ?? "-"}), members ${view.members.map((m) => `${m.name}:${m.role}/${m.state}`).join(" ")}`,
    };
  }

  /** `pg_stat_archiver.last_archived_time` of a site's writable leader (ms), when reachable. */
  private async lastArchivedAt(site: string): Promise<number | undefined> {
    try {
      const { view, leader } = await this.look(site);
      if (!view.leader || !leader?.writable) return undefined;
      const out = await this.access(site).sql(
        "SELECT COALESCE(extract(epoch FROM last_archived_time)::text, '') FROM pg_stat_archiver;",
        view.leader,
      );
      return out.trim() ? Number(out.trim()) * 1000 : undefined;
    } catch {
      return undefined;
    }
  }

  private async standbyPatch(newPrimary: string): Promise<Record<string, unknown>> {
    const ep = await this.access(newPrimary).replicationEndpoint();
    return {
      standby_cluster: {
        host: ep.host,
        port: ep.port,
        create_replica_methods: ["basebackup"],
        ...(this.access(newPrimary).standbyClusterExtras ?? {}),
      },
    };
  }

  async fence(site: string, ctx: { newPrimary: string }): Promise<FenceResult> {
    let first: Awaited<ReturnType<PatroniDriver["look"]>>;
    try {
      first = await this.look(site);
    } catch (e) {
      return {
        ok: false,
        confirmed: false,
        unreachable: true,
        detail: `Patroni REST API of ${site} unreachable: ${describeFetchError(e)}`,
      };
    }
    const before = first.leader?.walBytes;
    let patch: Record<string, unknown>;
    try {
      patch = await this.standbyPatch(ctx.newPrimary);
      await first.api.patchConfig(patch);
    } catch (e) {
      return { ok: false, confirmed: false, unreachable: false, detail: (e as Error).message };
    }
    const deadline = performance.now() + (this.opts.fenceTimeoutMs ?? 30_000);
    let last = "";
    while (performance.now() < deadline) {
      try {
        const { api, view, leader } = await this.look(site);
        const writable = await this.writableMembers(site, api, view);
        last = `leader ${view.leader?.name ?? "none"} role ${leader?.role ?? "?"}; writable members: ${writable.join(", ") || "none"}`;
        if (view.role === "standby" && leader && !leader.writable && writable.length === 0) {
          const finalWalBytes = Math.max(
            before ?? 0,
            leader.replayedBytes ?? 0,
            leader.walBytes ?? 0,
          );
          return {
            ok: true,
            confirmed: true,
            unreachable: false,
            finalWalBytes,
            detail: `PATCH /config standby_cluster -> ${JSON.stringify((patch.standby_cluster as { host: string }).host)}:${(patch.standby_cluster as { port: number }).port}; ${view.leader!.name} is a read-only standby_leader, no member writable (final WAL ${finalWalBytes})`,
            data: { patch },
          };
        }
      } catch (e) {
        last = describeFetchError(e);
      }
      await sleep(this.opts.pollMs ?? 250);
    }
    return {
      ok: false,
      confirmed: false,
      unreachable: false,
      detail: `standby_cluster set but ${site} not confirmed read-only within ${(this.opts.fenceTimeoutMs ?? 30_000) / 1000}s: ${last}`,
    };
  }

  async fenceDcs(site: string, ctx: { newPrimary: string }): Promise<ActionResult> {
    const a = this.access(site);
    if (!a.writeDcsConfig) return { ok: false, detail: `no DCS access configured for ${site}` };
    try {
      const patch = await this.standbyPatch(ctx.newPrimary);
      const where = await a.writeDcsConfig(patch);
      return {
        ok: true,
        detail: `standby_cluster -> ${ctx.newPrimary} written to ${where}: ${site} can only restart as a standby`,
        data: { patch },
      };
    } catch (e) {
      return { ok: false, detail: describeFetchError(e) };
    }
  }

  private async writableMembers(
    site: string,
    api: PatroniApi,
    view: ClusterView,
  ): Promise<string[]> {
    const out: string[] = [];
    for (const m of view.members) {
      const base = this.memberUrl(site, m);
      if (!base) continue;
      const s = await api.status(base).catch(() => undefined);
      if (s?.writable) out.push(m.name);
    }
    return out;
  }

  async promote(site: string): Promise<ActionResult> {
    let api: PatroniApi;
    try {
      api = await this.api(site);
      await api.patchConfig({ standby_cluster: null });
    } catch (e) {
      return { ok: false, detail: describeFetchError(e) };
    }
    const deadline = performance.now() + (this.opts.promoteTimeoutMs ?? 60_000);
    let last = "";
    while (performance.now() < deadline) {
      try {
        const { view, leader } = await this.look(site);
        last = `leader ${view.leader?.name ?? "none"} role ${leader?.role ?? "?"}`;
        if (view.role === "primary" && leader?.writable)
          return {
            ok: true,
            detail: `PATCH /config {"standby_cluster": null}; ${view.leader!.name} is a writable primary on timeline ${leader.timeline ?? "?"}`,
          };
      } catch (e) {
        last = describeFetchError(e);
      }
      await sleep(this.opts.pollMs ?? 250);
    }
    return {
      ok: false,
      detail: `no writable leader within ${(this.opts.promoteTimeoutMs ?? 60_000) / 1000}s: ${last}`,
    };
  }

  async rejoinAsStandby(
    site: string,
    ctx: { primary: string; reseed: Reseed },
  ): Promise<ActionResult> {
    const a = this.access(site);
    if (ctx.reseed === "basebackup" && !a.reseedFresh)
      return {
        ok: false,
        detail: `a fresh base backup of ${site} needs a re-seed hook this driver has not got; use --reseed rewind`,
      };
    try {
      const api = await this.api(site);
      await api.patchConfig(await this.standbyPatch(ctx.primary));
      if (ctx.reseed === "basebackup") await a.reseedFresh!();
    } catch (e) {
      return { ok: false, detail: describeFetchError(e) };
    }
    const deadline = performance.now() + (this.opts.rejoinTimeoutMs ?? 120_000);
    let last = "";
    while (performance.now() < deadline) {
      try {
        const [{ view, leader }, up] = await Promise.all([this.look(site), this.look(ctx.primary)]);
        last = `leader ${view.leader?.name ?? "none"} ${leader?.role ?? "?"} at ${leader?.walBytes ?? "?"}, primary at ${up.leader?.walBytes ?? "?"}`;
        if (
          view.role === "standby" &&
          leader &&
          !leader.writable &&
          leader.walBytes !== undefined &&
          up.leader?.walBytes !== undefined &&
          leader.walBytes >= up.leader.walBytes
        )
          return {
            ok: true,
            detail: `standby_leader ${view.leader!.name} streams from ${ctx.primary} (received ${leader.walBytes} >= primary ${up.leader.walBytes}), re-seeded by ${ctx.reseed === "rewind" ? "pg_rewind where needed" : "a fresh base backup"}`,
          };
      } catch (e) {
        last = describeFetchError(e);
      }
      await sleep(this.opts.pollMs ?? 250);
    }
    return {
      ok: false,
      detail: `${site} did not catch up with ${ctx.primary} within ${(this.opts.rejoinTimeoutMs ?? 120_000) / 1000}s (${last}); if pg_rewind failed (see Patroni's log), rerun with --reseed basebackup`,
    };
  }

  async updateStack(site: string, ctx: { networkFile: string }): Promise<ActionResult> {
    if (!this.opts.stacks)
      return {
        ok: true,
        detail: `sites of driver ${this.kind} have no stacks`,
        data: { skipped: true },
      };
    return this.opts.stacks.update(site, ctx.networkFile);
  }

  async verifyWrites(site: string): Promise<WriteCheck> {
    const token = `failover-${site}-${this.now()}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      const { view } = await this.look(site);
      if (!view.leader || view.role !== "primary")
        return { ok: false, detail: `${site} has no writable leader (${view.role})` };
      const out = await this.access(site).sql(
        [
          "CREATE TABLE IF NOT EXISTS drstack_failover_checks (token text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());",
          `INSERT INTO drstack_failover_checks (token) VALUES ('${token}');`,
          `SELECT token FROM drstack_failover_checks WHERE token = '${token}';`,
        ].join("\n"),
        view.leader,
      );
      const ok = out.split("\n").some((l) => l.trim() === token);
      return ok
        ? { ok, token, detail: `inserted and read back ${token} on ${view.leader.name}` }
        : { ok, detail: `wrote ${token} but read back ${JSON.stringify(out.slice(0, 200))}` };
    } catch (e) {
      return { ok: false, detail: describeFetchError(e) };
    }
  }
}
