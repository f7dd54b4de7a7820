/**
 * Where every drill process listens and keeps its files: a pure function of a base port and a
 * work directory. Every port is on 127.0.0.1 inside 15000-15999.
 */
import * as path from "node:path";

export const PORT_RANGE = { min: 15000, max: 15999 } as const;
/** Default base port; the drill uses base..base+59. */
export const DEFAULT_BASE_PORT = 15600;
export const PORT_SPAN = 60;
export const HOST = "127.0.0.1";

export interface MemberLayout {
  /** Patroni member name, e.g. `primary-0`. */
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly configFile: string;
  readonly pgBackRestConfig: string;
  readonly logFile: string;
}

export interface SiteLayout {
  /** `primary` or `dr`. */
  readonly site: string;
  /** etcd key prefix standing in for the site's own DCS. */
  readonly dcsPrefix: string;
  readonly members: readonly MemberLayout[];
}

export interface RedisLayout {
  readonly servers: readonly { name: string; port: number; dir: string; config: string }[];
  readonly sentinels: readonly { name: string; port: number; dir: string; config: string }[];
}

export interface DrillLayout {
  readonly basePort: number;
  readonly workDir: string;
  readonly etcd: { clientPort: number; peerPort: number; dataDir: string; logFile: string };
  readonly primary: SiteLayout;
  readonly standby: SiteLayout;
  /** The primary site's replication endpoint (a TCP proxy following the leader, as a Service would). */
  readonly replicationPort: number;
  readonly redis: RedisLayout;
  /** Scratch PostgreSQL servers of the backup-restore scenario. */
  readonly restorePorts: { readonly pgbackrest: number; readonly dump: number };
  readonly pgBackRest: {
    readonly repo1: string;
    readonly repo2: string;
    readonly logDir: string;
    readonly lockDir: string;
    /** The primary cluster's config in archive_command (pg1-* come from each member's environment). */
    readonly clusterConfig: string;
    /** Read-only view of the primary's repository the standby site restores WAL from. */
    readonly standbyConfig: string;
  };
  readonly scratchDir: string;
}

export function validBasePort(base: number): boolean {
  return Number.isInteger(base) && base >= PORT_RANGE.min && base + PORT_SPAN - 1 <= PORT_RANGE.max;
}

function member(workDir: string, name: string, pgPort: number, restPort: number): MemberLayout {
  const dir = path.join(workDir, name);
  return {
    name,
    pgPort,
    restPort,
    dir,
    dataDir: path.join(dir, "data"),
    socketDir: path.join(dir, "run"),
    configFile: path.join(dir, "patroni.yaml"),
    pgBackRestConfig: path.join(dir, "pgbackrest.conf"),
    logFile: path.join(dir, "patroni.log"),
  };
}

/** The drill's layout for `basePort` under `workDir`. Pure. */
export function drillLayout(basePort: number, workDir: string): DrillLayout {
  if (!validBasePort(basePort))
    throw new Error(
      `base port ${basePort} must leave ${PORT_SPAN} ports inside ${PORT_RANGE.min}-${PORT_RANGE.max}`,
    );
  const p = (offset: number) => basePort + offset;
  const redisDir = (n: string) => path.join(workDir, "redis", n);
  return {
    basePort,
    workDir,
    etcd: {
      clientPort: p(0),
      peerPort: p(1),
      dataDir: path.join(workDir, "etcd"),
      logFile: path.join(workDir, "etcd.log"),
    },
    primary: {
      site: "primary",
      dcsPrefix: "/drstack-primary/",
      members: [0, 1, 2].map((i) => member(workDir, `primary-${i}`, p(10 + i), p(20 + i))),
    },
    standby: {
      site: "dr",
      dcsPrefix: "/drstack-dr/",
      members: [0, 1].map((i) => member(workDir, `dr-${i}`, p(13 + i), p(23 + i))),
    },
    replicationPort: p(30),
    redis: {
      servers: [0, 1, 2].map((i) => ({
        name: `redis-${i}`,
        port: p(40 + i),
        dir: redisDir(`redis-${i}`),
        config: path.join(redisDir(`redis-${i}`), "redis.conf"),
      })),
      sentinels: [0, 1, 2].map((i) => ({
        name: `sentinel-${i}`,
        port: p(45 + i),
        dir: redisDir(`sentinel-${i}`),
        config: path.join(redisDir(`sentinel-${i}`), "sentinel.conf"),
      })),
    },
    restorePorts: { pgbackrest: p(50), dump: p(51) },
    pgBackRest: {
      repo1: path.join(workDir, "pgbackrest", "repo1"),
      repo2: path.join(workDir, "pgbackrest", "repo2"),
      logDir: path.join(workDir, "pgbackrest", "log"),
      lockDir: path.join(workDir, "pgbackrest", "lock"),
      clusterConfig: path.join(workDir, "pgbackrest", "cluster.conf"),
      standbyConfig: path.join(workDir, "pgbackrest", "primary-repo.conf"),
    },
    scratchDir: path.join(workDir, "scratch"),
  };
}

/** Every port of the layout, with what uses it (for the conflict check). */
export function layoutPorts(l: DrillLayout): { port: number; use: string }[] {
  return [
    { port: l.etcd.clientPort, use: "etcd client" },
    { port: l.etcd.peerPort, use: "etcd peer" },
    ...[...l.primary.members, ...l.standby.members].flatMap((m) => [
      { port: m.pgPort, use: `${m.name} postgres` },
      { port: m.restPort, use: `${m.name} patroni REST` },
    ]),
    { port: l.replicationPort, use: "primary replication endpoint" },
    ...l.redis.servers.map((s) => ({ port: s.port, use: s.name })),
    ...l.redis.sentinels.map((s) => ({ port: s.port, use: s.name })),
    { port: l.restorePorts.pgbackrest, use: "pgBackRest restore scratch postgres" },
    { port: l.restorePorts.dump, use: "pg_dump restore scratch postgres" },
  ];
}
