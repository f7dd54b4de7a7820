/**
 * An in-memory site driver: a model of Patroni clusters (one per site) that stream WAL from each
 * other, accept writes only on a writable primary, and record every call. Tests drive the
 * orchestration with it (and break it: unreachable sites, failing promotions, lag); it also
 * checks the safety property a stack swap must keep: no two writable primaries at any call.
 */
import type {
  ActionResult,
  FenceResult,
  Reseed,
  SiteDriver,
  SiteProbe,
  WriteCheck,
} from "./driver";

export interface MemorySite {
  reachable: boolean;
  role: "primary" | "standby" | "none";
  healthy: boolean;
  /** Primary: WAL written. Standby: WAL received. In bytes. */
  wal: number;
  timeline: number;
  /** Standby: site it follows. */
  follows?: string;
  /** Standby: bytes it stays behind what it follows (0: fully caught up). */
  holdBackBytes: number;
  /** Standby: seconds of commits behind (reported as the probe's lag). */
  lagSeconds?: number;
  lastBackupAgeSeconds?: number;
  /** Failure injection. */
  fail: Partial<Record<"fence" | "promote" | "rejoin" | "updateStack" | "verifyWrites", string>>;
  /** Writes this site acknowledged, by token. */
  acknowledged: string[];
}

export interface MemoryCall {
  readonly op: "probe" | "fence" | "promote" | "rejoin" | "updateStack" | "verifyWrites";
  readonly site: string;
  readonly args?: Readonly<Record<string, unknown>>;
  /** Reachable sites that were writable primaries after the call. */
  readonly writable: readonly string[];
}

export class MemoryDriver implements SiteDriver {
  readonly kind = "memory";
  readonly calls: MemoryCall[] = [];
  /** Set when a call left two writable primaries (split brain). */
  splitBrain?: string;
  private seq = 0;

  constructor(readonly sites: Record<string, MemorySite>) {}

  /** A primary site and standbys following it, every one healthy, caught up and backed up. */
  static healthy(primary: string, standbys: readonly string[]): MemoryDriver {
    const sites: Record<string, MemorySite> = {
      [primary]: memorySite({ role: "primary", wal: 1_000_000 }),
    };
    for (const s of standbys)
      sites[s] = memorySite({ role: "standby", follows: primary, wal: 1_000_000 });
    return new MemoryDriver(sites);
  }

  describe(): string {
    return `in-memory model of ${Object.keys(this.sites).length} sites`;
  }

  /** Writes on `site` as a client would (fails unless it is a reachable writable primary). */
  write(site: string): boolean {
    const s = this.site(site);
    if (!s.reachable || s.role !== "primary") return false;
    s.wal += 100;
    s.acknowledged.push(`w${++this.seq}`);
    return true;
  }

  async probe(site: string): Promise<SiteProbe> {
    this.replicate();
    const s = this.site(site);
    this.record("probe", site);
    if (!s.reachable)
      return { site, reachable: false, source: "memory", detail: "connection refused (model)" };
    const upstream = s.follows ? this.sites[s.follows] : undefined;
    const lagBytes =
      s.role === "standby" && upstream?.reachable ? Math.max(0, upstream.wal - s.wal) : undefined;
    return {
      site,
      reachable: true,
      role: s.role,
      writable: s.role === "primary",
      healthy: s.healthy && s.role !== "none",
      walBytes: s.wal,
      timeline: s.timeline,
      source: "memory",
      detail: `role ${s.role}, wal ${s.wal}`,
      ...(s.role === "standby"
        ? {
            lagBytes,
            lagSeconds: s.lagSeconds ?? (lagBytes === undefined ? undefined : lagBytes > 0 ? 1 : 0),
          }
        : {}),
      ...(s.lastBackupAgeSeconds !== undefined
        ? { lastBackupAgeSeconds: s.lastBackupAgeSeconds }
        : {}),
    };
  }

  async fence(site: string, ctx: { newPrimary: string }): Promise<FenceResult> {
    const s = this.site(site);
    try {
      if (!s.reachable)
        return {
          ok: false,
          confirmed: false,
          unreachable: true,
          detail: "connection refused (model)",
        };
      if (s.fail.fence)
        return { ok: false, confirmed: false, unreachable: false, detail: s.fail.fence };
      const finalWalBytes = s.wal;
      s.role = "standby";
      s.follows = ctx.newPrimary;
      s.holdBackBytes = 0;
      return {
        ok: true,
        confirmed: true,
        unreachable: false,
        finalWalBytes,
        detail: `standby of ${ctx.newPrimary}; read-only at wal ${finalWalBytes}`,
      };
    } finally {
      this.record("fence", site, ctx);
    }
  }

  async promote(site: string): Promise<ActionResult> {
    const s = this.site(site);
    try {
      if (!s.reachable) return { ok: false, detail: "connection refused (model)" };
      if (s.fail.promote) return { ok: false, detail: s.fail.promote };
      if (s.role !== "standby") return { ok: false, detail: `role is ${s.role}, not standby` };
      this.replicate();
      s.role = "primary";
      s.follows = undefined;
      s.timeline += 1;
      return { ok: true, detail: `writable leader on timeline ${s.timeline}` };
    } finally {
      this.record("promote", site);
    }
  }

  async rejoinAsStandby(
    site: string,
    ctx: { primary: string; reseed: Reseed },
  ): Promise<ActionResult> {
    const s = this.site(site);
    try {
      if (!s.reachable) return { ok: false, detail: "connection refused (model)" };
      if (s.fail.rejoin) return { ok: false, detail: s.fail.rejoin };
      const p = this.site(ctx.primary);
      const how = s.wal > p.wal ? `${ctx.reseed} (diverged by ${s.wal - p.wal} bytes)` : ctx.reseed;
      s.role = "standby";
      s.follows = ctx.primary;
      s.holdBackBytes = 0;
      s.timeline = p.timeline;
      s.wal = p.wal;
      return { ok: true, detail: `standby of ${ctx.primary}, re-seeded by ${how}` };
    } finally {
      this.record("rejoin", site, ctx);
    }
  }

  async updateStack(site: string, ctx: { networkFile: string }): Promise<ActionResult> {
    const s = this.site(site);
    this.record("updateStack", site, ctx);
    if (s.fail.updateStack) return { ok: false, detail: s.fail.updateStack };
    return { ok: true, detail: `stack ${site} updated from ${ctx.networkFile} (model)` };
  }

  async verifyWrites(site: string): Promise<WriteCheck> {
    const s = this.site(site);
    try {
      if (s.fail.verifyWrites) return { ok: false, detail: s.fail.verifyWrites };
      const ok = this.write(site);
      const token = ok ? s.acknowledged[s.acknowledged.length - 1] : undefined;
      return ok
        ? { ok, token, detail: `wrote and read back ${token}` }
        : { ok, detail: `${site} refused the write (role ${s.role})` };
    } finally {
      this.record("verifyWrites", site);
    }
  }

  /** Standbys receive what they follow (minus their hold-back), cascading. */
  private replicate(): void {
    for (let round = 0; round < Object.keys(this.sites).length; round++)
      for (const s of Object.values(this.sites)) {
        const up = s.follows ? this.sites[s.follows] : undefined;
        if (s.role === "standby" && s.reachable && up?.reachable && up.timeline >= s.timeline)
          s.wal = Math.max(s.wal, up.wal - s.holdBackBytes);
      }
  }

  private site(name: string): MemorySite {
    const s = this.sites[name];
    if (!s) throw new Error(`memory driver has no site ${name}`);
    return s;
  }

  private record(op: MemoryCall["op"], site: string, args?: object): void {
    const writable = Object.entries(this.sites)
      .filter(([, s]) => s.role === "primary" && s.reachable)
      .map(([n]) => n);
    if (writable.length > 1) this.splitBrain ??= `after ${op} ${site}: ${writable.join(", ")}`;
    this.calls.push({ op, site, ...(args ? { args: { ...args } } : {}), writable });
  }
}

export function memorySite(init: Partial<MemorySite> & Pick<MemorySite, "role">): MemorySite {
  return {
    reachable: true,
    healthy: true,
    wal: 0,
    timeline: 1,
    holdBackBytes: 0,
    lagSeconds: undefined,
    lastBackupAgeSeconds: 30,
    fail: {},
    acknowledged: [],
    ...init,
  };
}
