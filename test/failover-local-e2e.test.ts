/**
 * The local driver end to end against real Patroni 3 + PostgreSQL 15 + etcd on loopback
 * (ports 17500-17599): a one-member primary cluster and a one-member standby cluster following
 * it (the shape of the drill's sites, minimal). Runs `runFailover`, then `runFailback` with a
 * swap back, and checks what the issue asks: the old primary refuses writes once fenced, no
 * acknowledged write is lost, the returning site rejoins as a standby. Every process is started
 * here and stopped by PID. Skipped (with the reason) when a binary is missing.
 */
import { expect } from "chai";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { flipRoles } from "../failover/flip";
import { localConninfo, localDriver, type LocalSitesConfig } from "../failover/local";
import { runFailback, runFailover, type SwapEnvironment } from "../failover/orchestrate";
import { formatTimeline } from "../failover/report";
import { PatroniApi } from "../failover/patroni";
import { runCli, shippedNetworkText } from "./support/project";

const BIN = "/usr/lib/postgresql/15/bin";
function portsFrom(base: number) {
  return {
    etcdClient: base,
    etcdPeer: base + 1,
    pg: { primary: base + 2, dr: base + 3 },
    rest: { primary: base + 4, dr: base + 5 },
  };
}
let PORTS = portsFrom(17500);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A block of 6 free ports in 17500-17599 (another run of this test may hold one). */
async function freePorts() {
  for (let base = 17500; base + 5 <= 17599; base += 10) {
    const p = portsFrom(base);
    const all = [p.etcdClient, p.etcdPeer, p.pg.primary, p.pg.dr, p.rest.primary, p.rest.dr];
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return p;
  }
  throw new Error("no 6 free ports in 127.0.0.1:17500-17599 (other runs of this test?)");
}

function missing(): string | undefined {
  for (const b of ["patroni", "etcd", "psql"])
    try {
      execFileSync("which", [b], { stdio: "ignore" });
    } catch {
      return `${b} not on PATH`;
    }
  if (!fs.existsSync(`${BIN}/postgres`)) return `${BIN}/postgres missing`;
  return undefined;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  return { uid, gid };
}

function patroniYaml(work: string, site: "primary" | "dr"): string {
  const dir = path.join(work, site);
  const standby =
    site === "dr"
      ? `    standby_cluster:\n      host: 127.0.0.1\n      port: ${PORTS.pg.primary}\n      create_replica_methods: [basebackup]\n`
      : "";
  return `scope: pg
namespace: /f8-${site}/
name: ${site}-0
restapi:
  listen: 127.0.0.1:${PORTS.rest[site]}
  connect_address: 127.0.0.1:${PORTS.rest[site]}
etcd3:
  hosts: 127.0.0.1:${PORTS.etcdClient}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
${standby}    postgresql:
      use_pg_rewind: true
      use_slots: false
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        wal_log_hints: "on"
  initdb: [{ encoding: UTF8 }, data-checksums]
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${PORTS.pg[site]}
  connect_address: 127.0.0.1:${PORTS.pg[site]}
  data_dir: ${dir}/data
  bin_dir: ${BIN}
  pgpass: ${dir}/pgpass
  authentication:
    superuser: { username: postgres, password: unused-trust }
    replication: { username: replicator, password: unused-trust }
    rewind: { username: postgres, password: unused-trust }
  parameters:
    unix_socket_directories: ${dir}
`;
}

describe("local driver end to end (real Patroni, PostgreSQL, etcd)", function () {
  this.timeout(300_000);
  const why = missing();
  const ids = postgresIds();
  const procs: ChildProcess[] = [];
  let work = "";
  let sites: LocalSitesConfig;

  const psql = (site: "primary" | "dr", query: string, readWrite = true): string =>
    execFileSync(
      "psql",
      [
        "-X",
        "-A",
        "-t",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        readWrite
          ? localConninfo(sites.sites[site].postgres)
          : `host=127.0.0.1 port=${PORTS.pg[site]} user=postgres dbname=postgres connect_timeout=3`,
        "-c",
        query,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    )
      .toString()
      .trim();

  const start = (name: string, cmd: string, args: string[]) => {
    const log = fs.openSync(path.join(work, `${name}.log`), "a");
    const child = spawn(cmd, args, {
      cwd: work,
      detached: true,
      stdio: ["ignore", log, log],
      env: { PATH: `${BIN}:/usr/bin:/bin`, HOME: work, LANG: "C.UTF-8" },
      ...(ids ?? {}),
    });
    procs.push(child);
    return child;
  };
  const postmasterPid = (site: "primary" | "dr"): number | undefined => {
    try {
      const pid = Number(
        fs.readFileSync(path.join(work, site, "data", "postmaster.pid"), "utf8").split("\n")[0],
      );
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  };

  const waitFor = async (what: string, fn: () => Promise<boolean>, ms = 90_000) => {
    const t0 = Date.now();
    for (;;) {
      if (await fn().catch(() => false)) return;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; logs in ${work}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  const role = async (site: "primary" | "dr") =>
    (await new PatroniApi(sites.sites[site].rest).cluster()).leader?.role;

  before(async function () {
    if (why) return this.skip();
    PORTS = await freePorts();
    sites = {
      sites: {
        primary: {
          rest: [`http://127.0.0.1:${PORTS.rest.primary}`],
          dcs: { etcd: `http://127.0.0.1:${PORTS.etcdClient}`, configKey: "/f8-primary/pg/config" },
          postgres: {
            hosts: [`127.0.0.1:${PORTS.pg.primary}`],
            user: "postgres",
            database: "postgres",
          },
        },
        dr: {
          rest: [`http://127.0.0.1:${PORTS.rest.dr}`],
          dcs: { etcd: `http://127.0.0.1:${PORTS.etcdClient}`, configKey: "/f8-dr/pg/config" },
          postgres: { hosts: [`127.0.0.1:${PORTS.pg.dr}`], user: "postgres", database: "postgres" },
        },
      },
    };
    work = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-f8-e2e-"));
    fs.chmodSync(work, 0o755);
    for (const s of ["primary", "dr"] as const) {
      fs.mkdirSync(path.join(work, s), { mode: 0o700 });
      fs.writeFileSync(path.join(work, s, "patroni.yaml"), patroniYaml(work, s));
    }
    fs.mkdirSync(path.join(work, "etcd"), { mode: 0o700 });
    if (ids) execFileSync("chown", ["-R", `${ids.uid}:${ids.gid}`, work]);
    start("etcd", "etcd", [
      "--name=f8",
      `--data-dir=${path.join(work, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${PORTS.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${PORTS.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
      `--initial-cluster=f8=http://127.0.0.1:${PORTS.etcdPeer}`,
      "--log-level=warn",
    ]);
    await waitFor(
      "etcd",
      async () => (await fetch(`http://127.0.0.1:${PORTS.etcdClient}/health`)).ok,
    );
    start("patroni-primary", "patroni", [path.join(work, "primary", "patroni.yaml")]);
    await waitFor("primary leader", async () => (await role("primary")) === "leader");
    psql("primary", "CREATE TABLE acked (n int PRIMARY KEY); CHECKPOINT;");
    start("patroni-dr", "patroni", [path.join(work, "dr", "patroni.yaml")]);
    await waitFor("dr standby_leader", async () => (await role("dr")) === "standby_leader");
  });

  after(async () => {
    // Stop by PID (process groups we started), Patroni first so it stops PostgreSQL cleanly;
    // then any postmaster a killed Patroni left (its PID from the data directory we created).
    for (const p of [...procs].reverse()) {
      if (p.pid === undefined || p.exitCode !== null) continue;
      try {
        process.kill(-p.pid, "SIGTERM");
      } catch {
        /* gone */
      }
      const t0 = Date.now();
      while (p.exitCode === null && p.signalCode === null && Date.now() - t0 < 20_000)
        await new Promise((r) => setTimeout(r, 200));
      if (p.exitCode === null && p.signalCode === null)
        try {
          process.kill(-p.pid, "SIGKILL");
        } catch {
          /* gone */
        }
    }
    for (const site of ["primary", "dr"] as const) {
      const pid = work ? postmasterPid(site) : undefined;
      if (pid !== undefined) process.kill(pid, "SIGKILL");
    }
    if (work && !process.env.DRSTACK_KEEP) fs.rmSync(work, { recursive: true, force: true });
  });

  const env = (text: string, upstream: string): SwapEnvironment & { written: string[] } => {
    const written: string[] = [];
    return {
      driver: localDriver(sites, (s) => (s === upstream ? undefined : upstream), { pollMs: 200 }),
      networkText: text,
      networkFile: "stacks/network.yaml",
      writeNetwork: async (t) => {
        written.push(t);
        const f = path.join(work, "network.yaml");
        fs.writeFileSync(f, t);
        return f;
      },
      written,
    };
  };

  it("fails over: fence primary (read-only), dr catches up and is promoted, writes verified, no acknowledged write lost", async () => {
    for (let i = 1; i <= 200; i++) psql("primary", `INSERT INTO acked VALUES (${i});`);
    const e = env(shippedNetworkText(), "primary");
    // No pgBackRest repository in this minimal setup: the backup age is unknown, so the
    // preflight is forced for that check alone (every other check must pass for real).
    const r = await runFailover(e, {
      target: "dr",
      force: true,
      reason: "e2e: no backup repository",
    });
    if (process.env.DRSTACK_TIMELINE) console.log(formatTimeline(r));
    expect(r.preflight.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(["backup-age"]);
    expect(r.preflight.find((c) => c.name === "replication-lag")!.detail).to.match(
      /replication lag 0s \(0 bytes\)/,
    );
    expect(
      r.outcome,
      `${r.stoppedBecause}\n${r.steps.map((s) => `${s.step} ${s.status} ${s.detail}`).join("\n")}`,
    ).to.equal("completed");
    expect(r.steps.map((s) => `${s.step}:${s.status}`)).to.deep.equal([
      "preflight:forced",
      "fence:ok",
      "catch-up:ok",
      "promote:ok",
      "flip-config:ok",
      "update-stack:skipped",
      "verify-writes:ok",
    ]);
    expect(await role("dr")).to.equal("leader");
    // The fenced primary follows the new timeline (Patroni restarts its replication).
    await waitFor(
      "primary to follow dr",
      async () => (await role("primary")) === "standby_leader",
      60_000,
    );
    expect(psql("dr", "SELECT count(*) FROM acked;")).to.equal("200");
    // The fenced old primary refuses writes.
    expect(() => psql("primary", "INSERT INTO acked VALUES (999);", false)).to.throw(/read-only/);
    expect(flipRoles(e.written[0], "primary").oldPrimary).to.equal("dr");
  });

  it("fails back with a swap back: primary rejoins as standby, dr demoted before primary is promoted", async () => {
    for (let i = 201; i <= 300; i++) psql("dr", `INSERT INTO acked VALUES (${i});`);
    const text = flipRoles(shippedNetworkText(), "dr").text;
    const e = env(text, "dr");
    const r = await runFailback(e, {
      site: "primary",
      swapBack: true,
      force: true,
      reason: "e2e: no backup repository",
    });
    if (process.env.DRSTACK_TIMELINE) console.log(formatTimeline(r));
    expect(r.preflight.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(["backup-age"]);
    expect(
      r.outcome,
      `${r.stoppedBecause}\n${r.steps.map((s) => `${s.step} ${s.site} ${s.status} ${s.detail}`).join("\n")}`,
    ).to.equal("completed");
    const order = r.steps.map((s) => `${s.step} ${s.site}`);
    expect(order.indexOf("fence dr")).to.be.lessThan(order.indexOf("promote primary"));
    expect(await role("primary")).to.equal("leader");
    await waitFor(
      "dr to follow primary",
      async () => (await role("dr")) === "standby_leader",
      60_000,
    );
    expect(psql("primary", "SELECT count(*) FROM acked;")).to.equal("300");
    expect(() => psql("dr", "INSERT INTO acked VALUES (998);", false)).to.throw(/read-only/);
    expect(e.written).to.deep.equal([shippedNetworkText()]);
  });

  it("region lost: forced failover fences the dead primary in its DCS; it comes back as a standby, never writable, and fails back with no write lost", async () => {
    for (let i = 301; i <= 400; i++) psql("primary", `INSERT INTO acked VALUES (${i});`);
    await waitFor(
      "dr to replay every acknowledged write",
      async () => psql("dr", "SELECT count(*) FROM acked;", false) === "400",
    );
    // The region is lost: Patroni and PostgreSQL of the primary site die at once.
    const patroni = procs.find(
      (p) =>
        p.spawnargs.some((a) => a.endsWith(path.join("primary", "patroni.yaml"))) &&
        p.exitCode === null,
    )!;
    const pm = postmasterPid("primary");
    process.kill(-patroni.pid!, "SIGKILL");
    if (pm !== undefined) process.kill(pm, "SIGKILL");
    await waitFor(
      "primary down",
      async () => postmasterPid("primary") === undefined && patroni.signalCode !== null,
    );

    const text = shippedNetworkText();
    const e = env(text, "primary");
    const refused = await runFailover(e, { target: "dr" });
    expect(refused.outcome).to.equal("refused");
    const r = await runFailover(e, { target: "dr", force: true, reason: "us-east-1 lost (e2e)" });
    if (process.env.DRSTACK_TIMELINE) console.log(formatTimeline(r));
    expect(r.outcome, r.stoppedBecause).to.equal("completed");
    const fence = r.steps.find((s) => s.step === "fence")!;
    expect(fence.status).to.equal("forced");
    expect(fence.detail).to.match(
      /unreachable.*DCS fenced: standby_cluster -> dr written to etcd .* key \/f8-primary\/pg\/config/,
    );
    expect(psql("dr", "SELECT count(*) FROM acked;")).to.equal("400");
    for (let i = 401; i <= 450; i++) psql("dr", `INSERT INTO acked VALUES (${i});`);

    // The region returns: the old primary's Patroni starts again and must never take a write.
    start("patroni-primary-again", "patroni", [path.join(work, "primary", "patroni.yaml")]);
    const roles = new Set<string>();
    let writes = 0;
    const t0 = Date.now();
    for (;;) {
      const st = await fetch(`http://127.0.0.1:${PORTS.rest.primary}/patroni`, {
        signal: AbortSignal.timeout(1000),
      })
        .then((x) => x.json() as Promise<{ role?: string; state?: string }>)
        .catch(() => undefined);
      if (st?.role) roles.add(st.role);
      try {
        psql("primary", "INSERT INTO acked VALUES (-1);", false);
        writes++;
      } catch {
        /* refused: read-only or not running */
      }
      if (st?.role === "standby_leader" && st.state === "running" && Date.now() - t0 > 5000) break;
      if (Date.now() - t0 > 90_000)
        throw new Error(`old primary did not come back as a standby; roles seen: ${[...roles]}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    expect([...roles]).to.not.include("master");
    expect([...roles]).to.not.include("primary");
    expect(writes).to.equal(0);

    const flipped = e.written[e.written.length - 1];
    const b = await runFailback(env(flipped, "dr"), { site: "primary" });
    if (process.env.DRSTACK_TIMELINE) console.log(formatTimeline(b));
    expect(
      b.outcome,
      `${b.stoppedBecause}\n${b.steps.map((s) => `${s.step} ${s.status} ${s.detail}`).join("\n")}`,
    ).to.equal("completed");
    expect(b.steps.find((s) => s.step === "fence")!.status).to.equal("skipped");
    // Every acknowledged write is on both sites; the rejected -1 is nowhere.
    await waitFor(
      "primary to replay dr's writes",
      async () => psql("primary", "SELECT count(*) FROM acked;", false) === "450",
    );
    expect(psql("dr", "SELECT count(*) FROM acked WHERE n = -1;")).to.equal("0");
  });

  it("drstack failover --driver local --sites FILE: the command itself swaps back, edits the file in place, prints JSON", async () => {
    // Now: dr is the primary, primary its standby (previous test). The topology file says so.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drstack-f8-cli-"));
    try {
      const network = path.join(dir, "network.yaml");
      fs.writeFileSync(network, flipRoles(shippedNetworkText(), "dr").text);
      const sitesFile = path.join(dir, "sites.json");
      fs.writeFileSync(sitesFile, JSON.stringify(sites));
      const args = [
        "failover",
        "--to",
        "primary",
        "--driver",
        "local",
        "--sites",
        sitesFile,
        "--network",
        network,
      ];
      const r = runCli([
        ...args,
        "--yes",
        "--force",
        "--reason",
        "e2e: no backup repository",
        "--json",
      ]);
      expect(r.code, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout);
      expect(report).to.include({
        drstackSwap: 1,
        dryRun: false,
        operation: "failover",
        outcome: "completed",
        from: "dr",
        to: "primary",
        driver: "local",
      });
      expect(report.steps.map((x: any) => x.step)).to.deep.equal([
        "preflight",
        "fence",
        "catch-up",
        "promote",
        "flip-config",
        "update-stack",
        "verify-writes",
      ]);
      // The live log went to stderr, one line per step.
      expect(r.stderr).to.match(/^\[\+ *\d+\.\d{3}s\] \S+Z {2}fence +dr +OK /m);
      // The file was edited in place: back to the shipped text, byte for byte.
      expect(fs.readFileSync(network, "utf8")).to.equal(shippedNetworkText());
      await waitFor(
        "dr to follow primary",
        async () => (await role("dr")) === "standby_leader",
        60_000,
      );
      expect(await role("primary")).to.equal("leader");
      // Promoting the primary again is bad input now (exit 2), and nothing is contacted.
      const again = runCli([...args, "--dry-run"]);
      expect(again.code).to.equal(2);
      expect(again.stderr).to.match(/--to primary: site primary is already the primary/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
