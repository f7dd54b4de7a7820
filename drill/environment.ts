/**
 * The drill's environment on 127.0.0.1: etcd (the DCS), the primary site's 3-member Patroni
 * cluster archiving to two pgBackRest repositories (one encrypted), the DR site's 2-member
 * standby cluster following the primary's replication endpoint, and 3 Redis + 3 Sentinels.
 * Configurations come from the components' renderers with only addresses, paths and the DCS
 * changed. Exported for the stack swap's local site driver: {@link startEnvironment},
 * {@link stopEnvironment}, {@link siteEndpoints}, {@link killMember}, {@link startMember}.
 */
import { isUp } from "./patroni";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { USERS } from "../components/postgres/kubernetes";
import { ConfigError } from "../components/topology/errors";
import {
  drillLayout,
  type DrillLayout,
  HOST,
  layoutPorts,
  type MemberLayout,
  type SiteLayout,
} from "./layout";
import { CREATE_WRITES_TABLE, type PgTarget, sql } from "./pg";
import { clusterState, type PatroniClusterState, waitForCluster } from "./patroni";
import { patroniEnv, type Secrets, writeConfigs } from "./configs";
import { cleanEnv, postmasterPid, processGroupOf, run, Supervisor } from "./procs";
import { LeaderProxy } from "./proxy";
import { redisCommand } from "./resp";
import { loadDrillSettings, type DrillSettings } from "./settings";
import { currentRuntime, missingRuntime, runtimePath } from "./runtime";
import {
  chownTree,
  INSTALL_COMMAND,
  missingBinaries,
  type OsUser,
  postgresUser,
  sleep,
  takenPorts,
  waitFor,
} from "./system";

export interface EnvironmentOptions {
  readonly projectDir: string;
  readonly networkFile?: string;
  readonly basePort: number;
  /** Keep the work directory after stopping. Default false. */
  readonly keep?: boolean;
  /** Parent of the work directory. Default the OS temp directory. */
  readonly tmpDir?: string;
  readonly progress?: (line: string) => void;
}

export interface DrillEnvironment {
  readonly projectDir: string;
  readonly layout: DrillLayout;
  readonly settings: DrillSettings;
  readonly secrets: Secrets;
  readonly supervisor: Supervisor;
  readonly proxy: LeaderProxy;
  readonly pgUser: OsUser;
  readonly keep: boolean;
  readonly progress: (line: string) => void;
  /** Patroni version that runs (`patroni --version`). */
  readonly patroniVersion: string;
  /** Seconds the environment took to come up. */
  readonly startSeconds: number;
}

/** The endpoints of one site, for drivers and scenarios. */
export interface SiteEndpoints {
  readonly site: string;
  readonly scope: string;
  /** Patroni REST base URLs, per member. */
  readonly members: readonly {
    readonly name: string;
    readonly restUrl: string;
    readonly restPort: number;
    readonly pgPort: number;
    readonly dataDir: string;
  }[];
  readonly etcd: readonly string[];
  readonly dcsPrefix: string;
  /** Superuser connection to the site's read-write server. */
  readonly postgres: PgTarget;
}

const STEP_TIMEOUT_MS = 180_000;

/** Environments started and not yet stopped (also half-started ones), for signal handlers. */
const active = new Set<DrillEnvironment>();

/** Stops every environment of this process that is still running (e.g. on SIGINT). */
export async function stopAllEnvironments(): Promise<void> {
  await Promise.all([...active].map((e) => stopEnvironment(e).catch(() => undefined)));
}

/** Synchronous last resort for `process.on("exit")`: SIGKILL everything still running. */
export function killAllEnvironmentsNow(): void {
  for (const e of active) e.supervisor.killAllNow();
}

function secret(): string {
  return randomBytes(18).toString("base64url");
}

/** Site `primary` or `dr` of a running environment. */
export function siteLayout(env: DrillEnvironment, site: "primary" | "dr"): SiteLayout {
  return site === "primary" ? env.layout.primary : env.layout.standby;
}

export function siteEndpoints(env: DrillEnvironment, site: "primary" | "dr"): SiteEndpoints {
  const l = siteLayout(env, site);
  const s = site === "primary" ? env.settings.primaryPostgres : env.settings.standbyPostgres;
  return {
    site: site === "primary" ? env.settings.primarySite.name : env.settings.standbySite.name,
    scope: s.scope,
    members: l.members.map((m) => ({
      name: m.name,
      restUrl: `http://${HOST}:${m.restPort}`,
      restPort: m.restPort,
      pgPort: m.pgPort,
      dataDir: m.dataDir,
    })),
    etcd: [`http://${HOST}:${env.layout.etcd.clientPort}`],
    dcsPrefix: l.dcsPrefix,
    postgres: pgTarget(env, site, true),
  };
}

/** Superuser connection to a site's servers (read-write: only the leader). */
export function pgTarget(
  env: DrillEnvironment,
  site: "primary" | "dr",
  readWrite: boolean,
  ports?: readonly number[],
): PgTarget {
  return {
    ports: ports ?? siteLayout(env, site).members.map((m) => m.pgPort),
    user: USERS.superuser,
    password: env.secrets.superuser,
    database: "postgres",
    readWrite,
  };
}

export function restPorts(env: DrillEnvironment, site: "primary" | "dr"): number[] {
  return siteLayout(env, site).members.map((m) => m.restPort);
}

function member(env: DrillEnvironment, name: string): MemberLayout {
  const m = [...env.layout.primary.members, ...env.layout.standby.members].find(
    (x) => x.name === name,
  );
  if (!m) throw new Error(`no member ${name}`);
  return m;
}

/** Starts (or restarts) the Patroni of member `name`. */
export function startMember(env: DrillEnvironment, name: string): void {
  const m = member(env, name);
  const rt = currentRuntime();
  env.supervisor.start(`patroni:${name}`, rt.patroniCommand, {
    args: [...rt.patroniPrefixArgs, m.configFile],
    user: env.pgUser,
    env: patroniEnv(env, m),
    cwd: m.dir,
    logFile: m.logFile,
  });
}

/** kill -9 member `name`: its Patroni and its postmaster with every backend (both process groups). */
export async function killMember(env: DrillEnvironment, name: string): Promise<void> {
  const m = member(env, name);
  const pm = postmasterPid(m.dataDir);
  await Promise.all([
    env.supervisor.kill(`patroni:${name}`, "SIGKILL"),
    pm ? env.supervisor.killTree(pm) : Promise.resolve(),
  ]);
}

/**
 * SIGTERM member `name`'s Patroni, as a Kubernetes eviction or drain does: Patroni stops
 * PostgreSQL and releases the leader key. Waits (bounded) until Patroni has exited.
 */
export async function drainMember(env: DrillEnvironment, name: string): Promise<void> {
  await env.supervisor.kill(`patroni:${name}`, "SIGTERM", 60_000);
}

/** Records the postmasters Patroni started, so that cleanup finds them even if Patroni died. */
export function adoptPostmasters(env: DrillEnvironment): void {
  for (const m of [...env.layout.primary.members, ...env.layout.standby.members]) {
    const pm = postmasterPid(m.dataDir);
    const pgid = pm ? processGroupOf(pm) : undefined;
    if (pm) env.supervisor.adopt(pm);
    if (pgid && pgid > 1 && pgid !== processGroupOf(process.pid)) env.supervisor.adopt(pgid);
  }
}

export async function pgbackrest(
  env: DrillEnvironment,
  configFile: string,
  args: readonly string[],
  timeoutMs = 600_000,
): Promise<string> {
  return run(
    "pgbackrest",
    [`--config=${configFile}`, `--stanza=${env.settings.primaryPostgres.scope}`, ...args],
    {
      user: env.pgUser,
      env: cleanEnv(runtimePath(), env.pgUser.home),
      cwd: env.layout.workDir,
      timeoutMs,
    },
  );
}

/** The primary site's member holding the leader lock now. */
export async function primaryLeader(env: DrillEnvironment): Promise<MemberLayout> {
  const s = await clusterState(restPorts(env, "primary"));
  const leader = s.members.find((m) => m.role === "leader" && isUp(m));
  if (!leader) throw new Error("the primary cluster has no running leader");
  return member(env, leader.name);
}

export function memberLayout(env: DrillEnvironment, name: string): MemberLayout {
  return member(env, name);
}

async function patroniVersion(): Promise<string> {
  const rt = currentRuntime();
  const out = await run(rt.patroniCommand, [...rt.patroniPrefixArgs, "--version"], {
    env: cleanEnv([], "/tmp", { ...rt.patroniEnv }),
    timeoutMs: 30_000,
  });
  return out.trim().replace(/^patroni\s*/i, "");
}

/** Checks binaries and ports; throws a ConfigError naming the install command or the port. */
export async function checkPreconditions(layout: DrillLayout): Promise<void> {
  const missing = missingBinaries();
  const rt = currentRuntime();
  const missingRt = missingRuntime(rt);
  if (missing.length > 0 || missingRt.length > 0)
    throw new ConfigError(
      [
        ...missing.map((b) => ({
          path: b.name,
          message: `${b.name} not found (Debian package ${b.pkg})`,
          fix: `install the drill's packages: ${INSTALL_COMMAND}`,
        })),
        ...missingRt.map((r) => ({
          path: r.file,
          message: `${r.file} (Patroni ${rt.patroni} / PostgreSQL ${rt.postgresMajor}) is missing`,
          fix: `run ${r.provide}`,
        })),
      ],
      "the drill cannot run on this machine",
    );
  const taken = await takenPorts(layoutPorts(layout));
  if (taken.length > 0)
    throw new ConfigError(
      taken.map((t) => ({
        path: `127.0.0.1:${t.port}`,
        message: `port ${t.port} (${t.use}) is already in use`,
        fix: "stop what listens there, or pick other ports with --base-port",
      })),
      "the drill's ports are taken",
    );
}

/** Brings the whole environment up (bounded); on failure everything started is stopped. */
export async function startEnvironment(o: EnvironmentOptions): Promise<DrillEnvironment> {
  const t0 = Date.now();
  const progress = o.progress ?? (() => undefined);
  const settings = loadDrillSettings(o.projectDir, o.networkFile);
  // Validate ports before creating anything.
  await checkPreconditions(drillLayout(o.basePort, "/nonexistent"));
  const pgUser = postgresUser();
  const version = await patroniVersion();
  const workDir = fs.mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), "drstack-drill-"));
  fs.chmodSync(workDir, 0o755);
  const layout = drillLayout(o.basePort, workDir);
  const secrets: Secrets = {
    superuser: secret(),
    replication: secret(),
    rewind: secret(),
    app: secret(),
    cipherPass: secret(),
    redis: secret(),
  };
  const supervisor = new Supervisor(workDir);
  const proxy = new LeaderProxy(layout.replicationPort, layout.primary.members);
  const env: DrillEnvironment = {
    projectDir: o.projectDir,
    layout,
    settings,
    secrets,
    supervisor,
    proxy,
    pgUser,
    keep: o.keep ?? false,
    progress,
    patroniVersion: version,
    startSeconds: 0,
  };
  active.add(env);
  try {
    writeConfigs(env);
    chownTree(workDir, pgUser);
    progress(`environment: work directory ${workDir}`);
    supervisor.start("etcd", "etcd", {
      args: [
        "--name=drill",
        `--data-dir=${layout.etcd.dataDir}`,
        `--listen-client-urls=http://${HOST}:${layout.etcd.clientPort}`,
        `--advertise-client-urls=http://${HOST}:${layout.etcd.clientPort}`,
        `--listen-peer-urls=http://${HOST}:${layout.etcd.peerPort}`,
        `--initial-advertise-peer-urls=http://${HOST}:${layout.etcd.peerPort}`,
        `--initial-cluster=drill=http://${HOST}:${layout.etcd.peerPort}`,
        "--log-level=warn",
      ],
      user: pgUser,
      env: cleanEnv([], pgUser.home),
      logFile: layout.etcd.logFile,
    });
    await waitFor(
      "etcd to answer /health",
      async () => {
        const r = await fetch(`http://${HOST}:${layout.etcd.clientPort}/health`, {
          signal: AbortSignal.timeout(1000),
        });
        return r.ok ? true : undefined;
      },
      30_000,
    );
    progress(
      `environment: etcd up on ${layout.etcd.clientPort}; starting ${layout.primary.members.length} Patroni members (primary site), 3 Redis, 3 Sentinels`,
    );
    // Redis and Sentinel do not depend on PostgreSQL: they come up while Patroni bootstraps.
    for (const r of layout.redis.servers)
      supervisor.start(r.name, "redis-server", {
        args: [r.config],
        env: cleanEnv([], "/tmp"),
        cwd: r.dir,
      });
    for (const s of layout.redis.sentinels)
      supervisor.start(s.name, "redis-sentinel", {
        args: [s.config],
        env: cleanEnv([], "/tmp"),
        cwd: s.dir,
      });
    // The first member bootstraps alone; an immediate CHECKPOINT then leaves pg_basebackup's
    // spread checkpoint nothing to write, so the replicas clone in seconds, not minutes.
    const [first, ...others] = layout.primary.members;
    startMember(env, first.name);
    await waitForCluster([first.restPort], 0, STEP_TIMEOUT_MS);
    const primary = pgTarget(env, "primary", true);
    await sql(primary, `${CREATE_WRITES_TABLE}\nCHECKPOINT;`);
    for (const m of others) startMember(env, m.name);
    await waitForCluster(
      restPorts(env, "primary"),
      layout.primary.members.length - 1,
      STEP_TIMEOUT_MS,
    );
    adoptPostmasters(env);
    const leader = await primaryLeader(env);
    // archive_command is live from bootstrap: a failing (asynchronous) archive-push may hold the
    // stanza's archive lock for a moment, so stanza-create is retried on a lock error (bounded).
    for (let attempt = 1; ; attempt++) {
      try {
        await pgbackrest(env, leader.pgBackRestConfig, ["stanza-create"], 120_000);
        break;
      } catch (e) {
        if (attempt >= 40 || !/unable to acquire lock/.test((e as Error).message)) throw e;
        await sleep(250);
      }
    }
    progress(
      "environment: primary cluster up, pgBackRest stanza created (repo1 + encrypted repo2); starting the DR standby cluster",
    );
    await proxy.start();
    await sql(primary, "CHECKPOINT;");
    for (const m of layout.standby.members) startMember(env, m.name);
    await waitForCluster(
      restPorts(env, "dr"),
      layout.standby.members.length - 1,
      STEP_TIMEOUT_MS,
      "standby_leader",
    );
    adoptPostmasters(env);
    progress("environment: standby cluster up; waiting for the sentinels");
    await waitForSentinels(env, layout.redis.servers[0].port, STEP_TIMEOUT_MS);
    const startSeconds = (Date.now() - t0) / 1000;
    progress(`environment: up in ${startSeconds.toFixed(1)}s (Patroni ${env.patroniVersion})`);
    const up = { ...env, startSeconds };
    active.delete(env);
    active.add(up);
    return up;
  } catch (e) {
    await stopEnvironment(env).catch(() => undefined);
    throw e;
  }
}

/** Waits until every sentinel reports `masterPort` as master with all replicas and sentinels known. */
export async function waitForSentinels(
  env: DrillEnvironment,
  masterPort: number | undefined,
  timeoutMs: number,
): Promise<number> {
  const l = env.layout;
  const name = env.settings.redis.masterName;
  return waitFor(
    "the sentinels to agree on a master with its replicas",
    async () => {
      let port: number | undefined;
      for (const s of l.redis.sentinels) {
        const m = await redisCommand(s.port, env.secrets.redis, ["SENTINEL", "master", name], 1000);
        if (!Array.isArray(m)) return undefined;
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < m.length; i += 2) f[String(m[i])] = String(m[i + 1]);
        if (f.flags !== "master" || Number(f["num-slaves"]) < l.redis.servers.length - 1)
          return undefined;
        if (Number(f["num-other-sentinels"]) < l.redis.sentinels.length - 1) return undefined;
        if (masterPort !== undefined && Number(f.port) !== masterPort) return undefined;
        if (port !== undefined && Number(f.port) !== port) return undefined;
        port = Number(f.port);
        const replicas = await redisCommand(
          s.port,
          env.secrets.redis,
          ["SENTINEL", "replicas", name],
          1000,
        );
        if (!Array.isArray(replicas)) return undefined;
        const ok = replicas.filter((r) => {
          if (!Array.isArray(r)) return false;
          const flags = r[r.indexOf("flags") + 1];
          return flags === "slave";
        });
        if (ok.length < l.redis.servers.length - 1) return undefined;
      }
      return port;
    },
    timeoutMs,
    200,
  );
}

export interface StopResult {
  /** PIDs still alive after stopping (should be none). */
  readonly leftover: readonly number[];
  readonly workDirRemoved: boolean;
}

/** Stops every process the environment started (by PID) and removes the work directory unless kept. */
export async function stopEnvironment(env: DrillEnvironment): Promise<StopResult> {
  active.delete(env);
  await env.proxy.stop().catch(() => undefined);
  adoptPostmasters(env);
  const leftover = await env.supervisor.stopAll();
  let workDirRemoved = false;
  if (!env.keep) {
    fs.rmSync(env.layout.workDir, { recursive: true, force: true });
    workDirRemoved = !fs.existsSync(env.layout.workDir);
  }
  env.progress(
    `environment: stopped${leftover.length ? ` (still alive: ${leftover.join(", ")})` : ""}; work directory ${workDirRemoved ? "removed" : `kept at ${env.layout.workDir}`}`,
  );
  return { leftover, workDirRemoved };
}

export type { PatroniClusterState, Secrets };
