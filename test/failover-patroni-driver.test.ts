/**
 * The Patroni driver against fake Patroni REST servers (real HTTP on 127.0.0.1:17100-17199):
 * the exact requests a swap sends, their order across sites, and how the driver reads answers.
 * The fake follows Patroni's documented behaviour: `PATCH /config` merges into the dynamic
 * configuration (null deletes a key); a leader given `standby_cluster` restarts as a read-only
 * standby_leader; a standby leader whose `standby_cluster` is removed promotes on a new timeline.
 */
import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { flipRoles } from "../failover/flip";
import { runFailback, runFailover, type SwapEnvironment } from "../failover/orchestrate";
import { PatroniDriver, type PatroniSiteAccess } from "../failover/patroni-driver";
import {
  backupAgeSeconds,
  clusterView,
  leaderStatus,
  mergeConfig,
  standbyLag,
} from "../failover/patroni";
import { shippedNetworkText } from "./support/project";

interface Request {
  readonly site: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

let nextPort = 17100;

/** One site's Patroni cluster: a leader and a replica behind one fake REST server each. */
class FakeSite {
  readonly servers: http.Server[] = [];
  readonly urls: string[] = [];
  config: Record<string, unknown> = {};
  role: "master" | "standby_leader" = "master";
  wal = 5_000_000;
  timeline = 1;
  replayedAt = new Date().toISOString();
  /** Writes the leader accepted (token list). */
  rows: string[] = [];
  /** Fake PostgreSQL port other sites replicate from. */
  readonly pgPort: number;
  /** When set, PATCH /config is accepted but the leader never changes role. */
  stuck = false;

  constructor(
    readonly name: string,
    readonly log: Request[],
    readonly world: Map<number, FakeSite>,
  ) {
    this.pgPort = nextPort++;
    world.set(this.pgPort, this);
  }

  async start(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const server = http.createServer((req, res) => this.handle(req, res));
      let port = 0;
      for (;;) {
        port = nextPort++;
        if (port > 17199) throw new Error("out of test ports");
        const ok = await new Promise<boolean>((resolve) => {
          server.once("error", () => resolve(false));
          server.listen(port, "127.0.0.1", () => resolve(true));
        });
        if (ok) break;
      }
      this.servers.push(server);
      this.urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
  }

  stop(): Promise<void> {
    return Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(
      () => undefined,
    );
  }

  /** WAL the standby leader received from the site its standby_cluster points at. */
  private sync(): void {
    const sc = this.config.standby_cluster as { port?: number } | undefined;
    if (this.role !== "standby_leader" || !sc?.port) return;
    const up = this.world.get(sc.port);
    if (up && up.timeline >= this.timeline - 0) this.wal = Math.max(this.wal, up.wal);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = body ? JSON.parse(body) : undefined;
      this.log.push({
        site: this.name,
        method: req.method!,
        path: req.url!,
        ...(parsed !== undefined ? { body: parsed } : {}),
      });
      this.sync();
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.method === "GET" && req.url === "/cluster")
        return send(200, {
          members: [
            {
              name: `${this.name}-0`,
              role: this.role === "master" ? "leader" : "standby_leader",
              state: "running",
              api_url: `${this.urls[0]}/patroni`,
              host: "127.0.0.1",
              port: this.pgPort,
              timeline: this.timeline,
            },
            {
              name: `${this.name}-1`,
              role: "replica",
              state: "streaming",
              api_url: `${this.urls[1]}/patroni`,
              host: "127.0.0.1",
              port: this.pgPort + 1000,
              timeline: this.timeline,
              lag: 0,
            },
          ],
        });
      if (req.method === "GET" && req.url === "/patroni") {
        const leader = req.socket.localPort === Number(new URL(this.urls[0]).port);
        const role = leader ? this.role : "replica";
        return send(200, {
          state: "running",
          role,
          timeline: this.timeline,
          xlog:
            role === "master"
              ? { location: this.wal }
              : {
                  received_location: this.wal,
                  replayed_location: this.wal,
                  replayed_timestamp: this.replayedAt,
                },
        });
      }
      if (req.method === "PATCH" && req.url === "/config") {
        for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
          if (v === null) delete this.config[k];
          else this.config[k] = v;
        }
        if (!this.stuck) {
          if (this.config.standby_cluster && this.role === "master") {
            this.wal += 100; // the shutdown checkpoint
            this.role = "standby_leader";
          } else if (!this.config.standby_cluster && this.role === "standby_leader") {
            this.role = "master";
            this.timeline += 1;
          }
        }
        return send(200, this.config);
      }
      send(404, { error: "not found" });
    });
  }

  access(): PatroniSiteAccess {
    return {
      restUrls: async () => this.urls,
      replicationEndpoint: async () => ({ host: "127.0.0.1", port: this.pgPort }),
      sql: async (query) => {
        if (this.role !== "master")
          throw new Error("ERROR: cannot execute INSERT in a read-only transaction");
        const token = /VALUES \('([^']+)'\)/.exec(query)?.[1];
        if (!token) throw new Error(`unexpected SQL ${query}`);
        this.rows.push(token);
        this.wal += 64;
        return token;
      },
      backupInfo: async () => [
        { backup: [{ timestamp: { start: 0, stop: Date.now() / 1000 - 20 } }] },
      ],
    };
  }
}

async function world(): Promise<{
  log: Request[];
  primary: FakeSite;
  dr: FakeSite;
  driver: (upstream: string) => PatroniDriver;
  stop: () => Promise<void>;
}> {
  const log: Request[] = [];
  const map = new Map<number, FakeSite>();
  const primary = new FakeSite("primary", log, map);
  const dr = new FakeSite("dr", log, map);
  dr.role = "standby_leader";
  dr.config = { standby_cluster: { host: "127.0.0.1", port: primary.pgPort } };
  await primary.start();
  await dr.start();
  const driver = (upstream: string) =>
    new PatroniDriver({
      kind: "local",
      sites: { primary: primary.access(), dr: dr.access() },
      upstreamOf: (s) => (s === upstream ? undefined : upstream),
      fenceTimeoutMs: 1000,
      promoteTimeoutMs: 1000,
      rejoinTimeoutMs: 1000,
      pollMs: 20,
    });
  return {
    log,
    primary,
    dr,
    driver,
    stop: async () => Promise.all([primary.stop(), dr.stop()]).then(() => undefined),
  };
}

function env(
  driver: PatroniDriver,
  text = shippedNetworkText(),
): SwapEnvironment & { written: string[] } {
  const written: string[] = [];
  return {
    driver,
    networkText: text,
    networkFile: "stacks/network.yaml",
    writeNetwork: async (t) => {
      written.push(t);
      return "/tmp/x/network.yaml";
    },
    catchUpTimeoutMs: 1000,
    pollMs: 20,
    written,
  };
}

const changes = (log: Request[]) =>
  log
    .filter((r) => r.method !== "GET")
    .map((r) => `${r.method} ${r.site} ${r.path} ${JSON.stringify(r.body)}`);

describe("Patroni driver (fake Patroni REST servers)", () => {
  it("failover: PATCH standby_cluster on the old primary, confirmed read-only, THEN PATCH standby_cluster null on the target", async () => {
    const w = await world();
    try {
      const e = env(w.driver("primary"));
      const r = await runFailover(e, { target: "dr" });
      expect(r.outcome, r.stoppedBecause).to.equal("completed");
      expect(changes(w.log)).to.deep.equal([
        `PATCH primary /config {"standby_cluster":{"host":"127.0.0.1","port":${w.dr.pgPort},"create_replica_methods":["basebackup"]}}`,
        `PATCH dr /config {"standby_cluster":null}`,
      ]);
      // Confirmation: both members of the old primary were asked after the PATCH, none writable.
      const patchAt = w.log.findIndex((x) => x.method === "PATCH");
      const promoteAt = w.log.findIndex((x) => x.method === "PATCH" && x.site === "dr");
      const checks = w.log
        .slice(patchAt, promoteAt)
        .filter((x) => x.site === "primary" && x.path === "/patroni");
      expect(checks.length).to.be.at.least(2);
      expect(w.primary.role).to.equal("standby_leader");
      expect(w.dr.role).to.equal("master");
      expect(w.dr.timeline).to.equal(2);
      expect(w.dr.rows).to.have.length(1);
      expect(w.primary.rows).to.deep.equal([]);
      const fence = r.steps.find((s) => s.step === "fence")!;
      expect(fence.detail).to.match(/primary-0 is a read-only standby_leader, no member writable/);
      const catchUp = r.steps.find((s) => s.step === "catch-up")!;
      expect(catchUp.status).to.equal("ok");
      expect(r.steps.find((s) => s.step === "update-stack")!.status).to.equal("skipped");
      expect(parseFlipped(e.written[0])).to.equal("dr");
    } finally {
      await w.stop();
    }
  });

  it("probe: lag from the primary's WAL position, backup age from pgbackrest info", async () => {
    const w = await world();
    try {
      w.primary.wal += 4096; // the standby lags until it syncs: freeze its upstream link
      w.dr.config = { standby_cluster: { host: "127.0.0.1", port: 1 } };
      w.dr.replayedAt = new Date(Date.now() - 7000).toISOString();
      const p = await w.driver("primary").probe("dr");
      expect(p).to.include({
        reachable: true,
        role: "standby",
        writable: false,
        healthy: true,
        lagBytes: 4096,
      });
      expect(p.lagSeconds).to.be.within(6.5, 9);
      expect(p.lastBackupAgeSeconds).to.be.within(19, 23);
      expect(p.members!.map((m) => m.name)).to.deep.equal(["dr-0", "dr-1"]);
    } finally {
      await w.stop();
    }
  });

  it("an unreachable old primary: lag unknown refuses; --force records unconfirmed fencing and promotes", async () => {
    const w = await world();
    await w.primary.stop();
    try {
      const r = await runFailover(env(w.driver("primary")), { target: "dr" });
      expect(r.outcome).to.equal("refused");
      expect(r.stoppedBecause).to.match(/replication-lag: replication lag unknown/);
      expect(changes(w.log)).to.deep.equal([]);
      const f = await runFailover(env(w.driver("primary")), {
        target: "dr",
        force: true,
        reason: "primary region down",
      });
      expect(f.outcome, f.stoppedBecause).to.equal("completed");
      const fence = f.steps.find((s) => s.step === "fence")!;
      expect(fence.status).to.equal("forced");
      expect(fence.detail).to.match(
        /could not be confirmed: unreachable .*ECONNREFUSED.*--force: primary region down/,
      );
      expect(changes(w.log)).to.deep.equal([`PATCH dr /config {"standby_cluster":null}`]);
      expect(w.dr.role).to.equal("master");
    } finally {
      await w.dr.stop();
    }
  });

  it("an unreachable old primary with DCS access is fenced in its DCS (recorded; still needs --force)", async () => {
    const w = await world();
    await w.primary.stop();
    const written: Record<string, unknown>[] = [];
    const driver = new PatroniDriver({
      kind: "local",
      sites: {
        primary: {
          ...w.primary.access(),
          writeDcsConfig: async (patch) => {
            written.push({ ...patch });
            return "etcd test key /svc/pg/config";
          },
        },
        dr: w.dr.access(),
      },
      upstreamOf: (s) => (s === "primary" ? undefined : "primary"),
      fenceTimeoutMs: 500,
      promoteTimeoutMs: 1000,
      pollMs: 20,
    });
    try {
      const refused = await runFailover(env(driver), { target: "dr" });
      expect(refused.outcome).to.equal("refused");
      expect(written).to.deep.equal([]); // refused at preflight: nothing written
      const r = await runFailover(env(driver), {
        target: "dr",
        force: true,
        reason: "region lost",
      });
      expect(r.outcome, r.stoppedBecause).to.equal("completed");
      expect(written).to.deep.equal([
        {
          standby_cluster: {
            host: "127.0.0.1",
            port: w.dr.pgPort,
            create_replica_methods: ["basebackup"],
          },
        },
      ]);
      const fence = r.steps.find((s) => s.step === "fence")!;
      expect(fence.status).to.equal("forced");
      expect(fence.detail).to.match(
        /DCS fenced: standby_cluster -> dr written to etcd test key \/svc\/pg\/config: primary can only restart as a standby.*--force: region lost/,
      );
      expect(fence.data).to.include({ dcsFenced: true });
    } finally {
      await w.dr.stop();
    }
  });

  it("a primary that does not demote is not confirmed fenced: the target is not promoted", async () => {
    const w = await world();
    w.primary.stuck = true;
    try {
      const r = await runFailover(env(w.driver("primary")), { target: "dr" });
      expect(r.outcome).to.equal("refused");
      expect(r.stoppedBecause).to.match(
        /not confirmed read-only within 1s.*writable members: primary-0/,
      );
      expect(changes(w.log)).to.have.length(1);
      expect(w.dr.role).to.equal("standby_leader");
    } finally {
      await w.stop();
    }
  });

  it("failback: the old primary becomes a standby cluster of the new primary and catches up", async () => {
    const w = await world();
    try {
      const e = env(w.driver("primary"));
      expect((await runFailover(e, { target: "dr" })).outcome).to.equal("completed");
      w.log.length = 0;
      w.dr.wal += 10_000; // writes on the new primary meanwhile
      const r = await runFailback(env(w.driver("dr"), e.written[0]), { site: "primary" });
      expect(r.outcome, r.stoppedBecause).to.equal("completed");
      expect(changes(w.log)).to.deep.equal([
        `PATCH primary /config {"standby_cluster":{"host":"127.0.0.1","port":${w.dr.pgPort},"create_replica_methods":["basebackup"]}}`,
      ]);
      expect(r.steps.find((s) => s.step === "fence")!.status).to.equal("skipped");
      expect(r.steps.find((s) => s.step === "rejoin")!.detail).to.match(/streams from dr/);
      expect(w.primary.wal).to.equal(w.dr.wal);
      // Basebackup re-seed needs a hook this access has not got: refused with the fix.
      const b = await w
        .driver("dr")
        .rejoinAsStandby("primary", { primary: "dr", reseed: "basebackup" });
      expect(b.ok).to.equal(false);
      expect(b.detail).to.match(/use --reseed rewind/);
    } finally {
      await w.stop();
    }
  });
});

describe("Patroni answers (pure)", () => {
  it("reads /cluster and /patroni as Patroni 3 writes them", () => {
    const v = clusterView({
      members: [
        {
          name: "a",
          role: "standby_leader",
          state: "streaming",
          api_url: "http://h:8008/patroni",
          host: "h",
          port: 5432,
          timeline: 3,
        },
        { name: "b", role: "replica", state: "streaming", lag: 12 },
      ],
    });
    expect(v).to.include({ role: "standby", healthy: true });
    expect(v.leader!.name).to.equal("a");
    expect(clusterView({ members: [{ name: "a", role: "replica", state: "stopped" }] })).to.include(
      {
        role: "none",
        healthy: false,
      },
    );
    expect(leaderStatus({ role: "primary", xlog: { location: 99 }, timeline: 2 })).to.deep.equal({
      role: "primary",
      writable: true,
      walBytes: 99,
      timeline: 2,
    });
    const s = leaderStatus({
      role: "standby_leader",
      xlog: {
        received_location: 90,
        replayed_location: 80,
        replayed_timestamp: "2026-01-01T00:00:00Z",
      },
    });
    expect(s).to.include({ writable: false, walBytes: 90, replayedBytes: 80 });
    // After pg_rewind the WAL receiver may sit at the segment start while replay, from the WAL
    // the rewind copied, is further: the standby holds the replayed position.
    expect(
      leaderStatus({
        role: "standby_leader",
        xlog: { received_location: 50331648, replayed_location: 50691456 },
      }),
    ).to.include({ walBytes: 50691456, replayedBytes: 50691456 });
    const now = Date.parse("2026-01-01T00:00:30Z");
    expect(
      standbyLag(s, leaderStatus({ role: "master", xlog: { location: 99 } }), now),
    ).to.deep.equal({
      lagBytes: 9,
      lagSeconds: 30,
    });
    expect(
      standbyLag(s, leaderStatus({ role: "master", xlog: { location: 90 } }), now),
    ).to.deep.equal({
      lagBytes: 0,
      lagSeconds: 0,
    });
    expect(standbyLag(s, undefined, now)).to.deep.equal({});
  });

  it("merges a config patch as PATCH /config does (null removes, objects merge)", () => {
    expect(
      mergeConfig(
        { ttl: 10, postgresql: { parameters: { a: 1, b: 2 } }, standby_cluster: { host: "x" } },
        { standby_cluster: null, postgresql: { parameters: { b: null, c: 3 } }, loop_wait: 1 },
      ),
    ).to.deep.equal({ ttl: 10, postgresql: { parameters: { a: 1, c: 3 } }, loop_wait: 1 });
    expect(mergeConfig({}, { standby_cluster: { host: "h", port: 1 } })).to.deep.equal({
      standby_cluster: { host: "h", port: 1 },
    });
  });

  it("backup age: newest successful backup or archived WAL", () => {
    const info = [
      {
        backup: [
          { timestamp: { stop: 1000 } },
          { timestamp: { stop: 2000 }, error: true },
          { timestamp: { stop: 1500 } },
        ],
      },
    ];
    expect(backupAgeSeconds(info, 1600_000)).to.equal(100);
    expect(backupAgeSeconds(info, 1600_000, 1590_000)).to.equal(10);
    expect(backupAgeSeconds([], 1600_000)).to.equal(undefined);
  });
});

function parseFlipped(text: string): string {
  return flipRoles(text, "primary").oldPrimary;
}
