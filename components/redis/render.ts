/**
 * Pure renderers for `redis.conf` and `sentinel.conf`. The same functions feed the Kubernetes
 * ConfigMaps (pod DNS names, `/data`) and the local drill (127.0.0.1, local ports and
 * directories), so the drill runs exactly the settings `pulumi up` deploys.
 *
 * Where a value differs per process (announce address, the master to replicate from, the
 * password), it comes from the environment argument; the Kubernetes pods render without them and
 * append the per-pod lines at start (see `scripts.ts`), because one ConfigMap serves every pod and
 * a password never goes into a ConfigMap.
 */
import type { RedisSettings } from "./settings";

/** A `host port` address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where and how one Redis server runs. */
export interface RedisEnvironment {
  /** Addresses to listen on, e.g. `0.0.0.0` in a pod, `127.0.0.1` locally. */
  readonly bind: string;
  /** TCP port, e.g. 6379 in a pod, 16301 in the drill. */
  readonly port: number;
  /** Data directory (AOF and RDB files); must exist and be writable. `/data` in a pod. */
  readonly dataDir: string;
  /** Address/port the replica announces to its master and the sentinels. Default: its own. */
  readonly announce?: Partial<HostPort>;
  /** Start as a replica of this master. Default: start as a master. */
  readonly replicaOf?: HostPort;
  /** requirepass + masterauth. Default: no auth lines (Kubernetes appends them from a Secret). */
  readonly password?: string;
  /** Lower is preferred by Sentinel when promoting; 0 never promotes. Default: Redis' 100. */
  readonly replicaPriority?: number;
  /** Log file. Default: "" (stdout). */
  readonly logFile?: string;
  /** Pid file. Default: none. */
  readonly pidFile?: string;
  /** Run in the background (the drill may want it; pods must not). Default false. */
  readonly daemonize?: boolean;
}

/** Where and how one Sentinel runs. */
export interface SentinelEnvironment {
  /** Addresses to listen on, e.g. `0.0.0.0` in a pod, `127.0.0.1` locally. */
  readonly bind: string;
  /** TCP port, e.g. 26379 in a pod, 16311 in the drill. */
  readonly port: number;
  /** Sentinel's working directory. `/data` in a pod. */
  readonly dataDir: string;
  /** The master to monitor at start. Default: monitor nothing (an idle sentinel). */
  readonly master?: HostPort;
  /** Address/port this sentinel announces to the others. Default: its own. */
  readonly announce?: Partial<HostPort>;
  /** Use and announce DNS names instead of IPs (needed in Kubernetes). Default false. */
  readonly hostnames?: boolean;
  /** Sentinel's own requirepass and the auth-pass for the master. Default: no auth lines. */
  readonly password?: string;
  /** Log file. Default: "" (stdout). */
  readonly logFile?: string;
  /** Pid file. Default: none. */
  readonly pidFile?: string;
  /** Run in the background. Default false. */
  readonly daemonize?: boolean;
}

const HEADER =
  "# Rendered by drstack (components/redis/render.ts); pulumi up / the drill rewrite it.";

/** Quotes a value for a Redis config file (double quotes, escaped). */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function common(env: {
  bind: string;
  port: number;
  dataDir: string;
  logFile?: string;
  pidFile?: string;
  daemonize?: boolean;
}): string[] {
  return [
    `bind ${env.bind}`,
    `port ${env.port}`,
    "protected-mode yes",
    `dir ${quote(env.dataDir)}`,
    `daemonize ${env.daemonize ? "yes" : "no"}`,
    `logfile ${quote(env.logFile ?? "")}`,
    ...(env.pidFile ? [`pidfile ${quote(env.pidFile)}`] : []),
  ];
}

/** The lines that differ per Redis process (announce, replicaof, auth): Kubernetes appends them at start. */
export function redisRuntimeLines(
  env: Pick<RedisEnvironment, "announce" | "replicaOf" | "password" | "replicaPriority">,
): string[] {
  const lines: string[] = [];
  if (env.announce?.host) lines.push(`replica-announce-ip ${env.announce.host}`);
  if (env.announce?.port) lines.push(`replica-announce-port ${env.announce.port}`);
  if (env.replicaPriority !== undefined) lines.push(`replica-priority ${env.replicaPriority}`);
  if (env.password !== undefined)
    lines.push(`requirepass ${quote(env.password)}`, `masterauth ${quote(env.password)}`);
  if (env.replicaOf) lines.push(`replicaof ${env.replicaOf.host} ${env.replicaOf.port}`);
  return lines;
}

/** `redis.conf` for one Redis server of the cluster. Pure. */
export function renderRedisConfig(settings: RedisSettings, env: RedisEnvironment): string {
  const lines = [
    HEADER,
    ...common(env),
    "",
    "# Persistence: AOF fsynced every second (loses at most ~1s of writes), plus RDB snapshots for backups.",
    "appendonly yes",
    `appendfsync ${settings.appendfsync}`,
    'appendfilename "appendonly.aof"',
    "aof-use-rdb-preamble yes",
    'dbfilename "dump.rdb"',
    "save 3600 1 300 100 60 10000",
    "",
    "# Split-brain guard: a master that has not heard from enough replicas for the lag stops taking writes.",
    `min-replicas-to-write ${settings.minReplicasToWrite}`,
    `min-replicas-max-lag ${settings.minReplicasMaxLag}`,
    "",
    "# Replication.",
    "replica-read-only yes",
    "replica-serve-stale-data yes",
    "repl-diskless-sync yes",
    "repl-diskless-sync-delay 0",
    `repl-timeout ${Math.max(settings.minReplicasMaxLag * 2, 10)}`,
    "",
    ...redisRuntimeLines(env),
  ];
  return lines.join("\n").trimEnd() + "\n";
}

/** The monitor lines for the master (`sentinel monitor` and its options), in the order Sentinel needs. */
export function sentinelMonitorLines(
  settings: RedisSettings,
  master: HostPort,
  password?: string,
): string[] {
  const name = settings.masterName;
  return [
    `sentinel monitor ${name} ${master.host} ${master.port} ${settings.quorum}`,
    `sentinel down-after-milliseconds ${name} ${settings.downAfterMilliseconds}`,
    `sentinel failover-timeout ${name} ${settings.failoverTimeout}`,
    `sentinel parallel-syncs ${name} ${settings.parallelSyncs}`,
    ...(password !== undefined ? [`sentinel auth-pass ${name} ${quote(password)}`] : []),
  ];
}

/** The lines that differ per Sentinel process (announce, auth): Kubernetes appends them at start. */
export function sentinelRuntimeLines(
  settings: RedisSettings,
  env: Pick<SentinelEnvironment, "announce" | "password" | "master">,
): string[] {
  const lines: string[] = [];
  if (env.announce?.host) lines.push(`sentinel announce-ip ${env.announce.host}`);
  if (env.announce?.port) lines.push(`sentinel announce-port ${env.announce.port}`);
  if (env.password !== undefined) {
    // Clients and the other sentinels must authenticate; sentinels use the same password with each other.
    lines.push(
      `requirepass ${quote(env.password)}`,
      `sentinel sentinel-pass ${quote(env.password)}`,
    );
    if (env.master) lines.push(`sentinel auth-pass ${settings.masterName} ${quote(env.password)}`);
  }
  return lines;
}

/**
 * `sentinel.conf` for one Sentinel. Sentinel rewrites this file at run time (it records the
 * current master, replicas and other sentinels), so it must be started from a writable copy.
 */
export function renderSentinelConfig(settings: RedisSettings, env: SentinelEnvironment): string {
  const lines = [
    HEADER,
    ...common(env),
    ...(env.hostnames ? ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"] : []),
    "",
    ...(env.master
      ? [
          `# Quorum ${settings.quorum} of ${settings.sentinels} sentinels; failover also needs a majority to authorize it.`,
          ...sentinelMonitorLines(settings, env.master),
        ]
      : [
          "# No master monitored (standby site replicating from the primary site): promote to monitor.",
        ]),
    "",
    ...sentinelRuntimeLines(settings, env),
  ];
  return lines.join("\n").trimEnd() + "\n";
}
