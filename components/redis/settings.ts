/**
 * Redis + Sentinel settings: the `drstack:redis` stack config key (structured), its shape, its
 * defaults and the cross-field checks (quorum a majority, enough replicas to write). Pure.
 */
import { IMAGES } from "../shared/images";
import { fieldPath, Problems } from "../topology/errors";
import type { Field, Shape } from "../topology/shape";

export const STANDBY_MODES = ["replica", "independent"] as const;
export type StandbyMode = (typeof STANDBY_MODES)[number];

export const APPENDFSYNC = ["everysec", "always"] as const;

export interface ComputeResources {
  /** CPU request, e.g. "100m". */
  readonly cpu: string;
  /** Memory request and limit, e.g. "256Mi". */
  readonly memory: string;
}

export interface RedisSettings {
  /** Name Sentinel knows the master by (clients ask for it). Default `drstack`. */
  readonly masterName: string;
  /** Replicas besides the master; at least 2. Default 2 (3 Redis pods). */
  readonly replicas: number;
  /** Sentinels; odd, at least 3. Default 3. */
  readonly sentinels: number;
  /** Sentinels that must agree the master is down; a majority. Default: floor(sentinels/2)+1. */
  readonly quorum: number;
  /** Unreachable this long, a sentinel sees the master as down. Default 5000 (Redis: 30000). */
  readonly downAfterMilliseconds: number;
  /** Failover retry / replica reconfiguration bound. Default 30000 (Redis: 180000). */
  readonly failoverTimeout: number;
  /** Replicas resyncing with a new master at once. Default 1. */
  readonly parallelSyncs: number;
  /** A master refuses writes with fewer replicas than this within the lag. Default 1. */
  readonly minReplicasToWrite: number;
  /** Seconds since a replica's last ack for it to count for `minReplicasToWrite`. Default 10. */
  readonly minReplicasMaxLag: number;
  /** AOF fsync policy: `everysec` or `always` (`no` is refused). Default `everysec`. */
  readonly appendfsync: (typeof APPENDFSYNC)[number];
  /** PVC size per Redis pod. Default `10Gi`. */
  readonly storageSize: string;
  /** Storage class of the PVCs. Default: the cluster's default class. */
  readonly storageClass?: string;
  /** Image for Redis and Sentinel (must have sh and redis-cli). Default `redis:7.2.5-alpine`. */
  readonly image: string;
  /** Default cpu 250m / memory 512Mi. */
  readonly redisResources: ComputeResources;
  /** Default cpu 50m / memory 64Mi. */
  readonly sentinelResources: ComputeResources;
  /** In a standby site: `replica` of the primary site's master, or an `independent` cluster. Default `replica`. */
  readonly standbyMode: StandbyMode;
  /** Stack a standby site reads the primary's endpoint from (`org/project/stack`, `project/stack` or `stack`). Default: the primary site's name. */
  readonly primaryStack?: string;
  /** Stack that generates the Redis password every site uses. Default: the network's `credentialsSite` (else the primary site). */
  readonly credentialsStack?: string;
  /** Address standby sites replicate from (reachable across sites). Default: pod 0's cluster DNS name, port 6379. */
  readonly endpoint?: { readonly host: string; readonly port: number };
}

export const REDIS_DEFAULTS: RedisSettings = {
  masterName: "drstack",
  replicas: 2,
  sentinels: 3,
  quorum: 2,
  downAfterMilliseconds: 5000,
  failoverTimeout: 30000,
  parallelSyncs: 1,
  minReplicasToWrite: 1,
  minReplicasMaxLag: 10,
  appendfsync: "everysec",
  storageSize: "10Gi",
  image: IMAGES.redis.ref,
  redisResources: { cpu: "250m", memory: "512Mi" },
  sentinelResources: { cpu: "50m", memory: "64Mi" },
  standbyMode: "replica",
};

const QUANTITY: Shape = {
  kind: "string",
  pattern: /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/,
  hint: 'use a Kubernetes quantity such as "250m", "512Mi" or "10Gi"',
};
const resourcesShape: Shape = {
  kind: "object",
  fields: { cpu: { shape: QUANTITY }, memory: { shape: QUANTITY } },
};
const int = (min: number, max?: number): Field => ({
  shape: { kind: "integer", min, ...(max !== undefined ? { max } : {}) },
});

/** The shape of `drstack:redis` (every field optional; defaults in {@link REDIS_DEFAULTS}). */
export const REDIS_SHAPE: Shape = {
  kind: "object",
  fields: {
    masterName: {
      shape: {
        kind: "string",
        pattern: /^[A-Za-z0-9_.-]{1,64}$/,
        hint: "letters, digits, _ . - only, e.g. drstack",
      },
    },
    replicas: int(0, 15),
    sentinels: int(0, 15),
    quorum: int(1, 15),
    downAfterMilliseconds: int(500, 600_000),
    failoverTimeout: int(1000, 3_600_000),
    parallelSyncs: int(1, 15),
    minReplicasToWrite: int(0, 15),
    minReplicasMaxLag: int(1, 3600),
    appendfsync: { shape: { kind: "string", enum: [...APPENDFSYNC, "no"] } },
    storage: {
      shape: {
        kind: "object",
        fields: { size: { shape: QUANTITY }, storageClass: { shape: { kind: "string" } } },
      },
    },
    image: {
      shape: {
        kind: "string",
        pattern: /^\S+$/,
        hint: "an image reference such as redis:7.2.5-alpine",
      },
    },
    resources: {
      shape: {
        kind: "object",
        fields: { redis: { shape: resourcesShape }, sentinel: { shape: resourcesShape } },
      },
    },
    credentialsStack: {
      shape: {
        kind: "string",
        pattern: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/,
        hint: "org/project/stack, project/stack or stack",
      },
    },
    standby: {
      shape: {
        kind: "object",
        fields: {
          mode: { shape: { kind: "string", enum: STANDBY_MODES } },
          primaryStack: {
            shape: {
              kind: "string",
              pattern: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/,
              hint: "org/project/stack, project/stack or stack",
            },
          },
        },
      },
    },
    endpoint: {
      shape: {
        kind: "object",
        fields: {
          host: { shape: { kind: "string", pattern: /^[A-Za-z0-9.:-]+$/ }, required: true },
          port: { ...int(1, 65535), required: true },
        },
      },
    },
  },
};

/** The majority of `n` sentinels. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** `drstack:redis` as written in the stack file (after the shape check). */
export interface RawRedisConfig {
  readonly masterName?: string;
  readonly replicas?: number;
  readonly sentinels?: number;
  readonly quorum?: number;
  readonly downAfterMilliseconds?: number;
  readonly failoverTimeout?: number;
  readonly parallelSyncs?: number;
  readonly minReplicasToWrite?: number;
  readonly minReplicasMaxLag?: number;
  readonly appendfsync?: RedisSettings["appendfsync"];
  readonly storage?: { readonly size?: string; readonly storageClass?: string };
  readonly image?: string;
  readonly resources?: {
    readonly redis?: Partial<ComputeResources>;
    readonly sentinel?: Partial<ComputeResources>;
  };
  readonly standby?: { readonly mode?: StandbyMode; readonly primaryStack?: string };
  readonly credentialsStack?: string;
  readonly endpoint?: { readonly host: string; readonly port: number };
}

/**
 * Normalizes a shape-checked `drstack:redis` value (or undefined) into settings with defaults,
 * adding a problem (with its field path and fix) for every unsafe combination.
 */
export function normalizeRedisSettings(
  raw: unknown,
  problems: Problems,
  path = "config.drstack:redis",
): RedisSettings {
  const r = (raw ?? {}) as RawRedisConfig;
  const d = REDIS_DEFAULTS;
  const sentinels: number = r.sentinels ?? d.sentinels;
  const replicas: number = r.replicas ?? d.replicas;
  const s: RedisSettings = {
    masterName: r.masterName ?? d.masterName,
    replicas,
    sentinels,
    quorum: r.quorum ?? majority(sentinels),
    downAfterMilliseconds: r.downAfterMilliseconds ?? d.downAfterMilliseconds,
    failoverTimeout: r.failoverTimeout ?? d.failoverTimeout,
    parallelSyncs: r.parallelSyncs ?? d.parallelSyncs,
    minReplicasToWrite: r.minReplicasToWrite ?? d.minReplicasToWrite,
    minReplicasMaxLag: r.minReplicasMaxLag ?? d.minReplicasMaxLag,
    appendfsync: r.appendfsync ?? d.appendfsync,
    storageSize: r.storage?.size ?? d.storageSize,
    ...(r.storage?.storageClass ? { storageClass: r.storage.storageClass } : {}),
    image: r.image ?? d.image,
    redisResources: { ...d.redisResources, ...r.resources?.redis },
    sentinelResources: { ...d.sentinelResources, ...r.resources?.sentinel },
    standbyMode: r.standby?.mode ?? d.standbyMode,
    ...(r.standby?.primaryStack ? { primaryStack: r.standby.primaryStack } : {}),
    ...(r.credentialsStack ? { credentialsStack: r.credentialsStack } : {}),
    ...(r.endpoint ? { endpoint: { host: r.endpoint.host, port: r.endpoint.port } } : {}),
  };
  checkRedisSettings(s, problems, path);
  return s;
}

/** Adds a problem for every unsafe setting. Pure. */
export function checkRedisSettings(
  s: RedisSettings,
  problems: Problems,
  path = "config.drstack:redis",
): void {
  const at = (k: string) => fieldPath(path, k);
  if (s.replicas < 2)
    problems.add(
      at("replicas"),
      `needs at least 2 replicas besides the master, got ${s.replicas}`,
      "set replicas: 2 (one master + two replicas survive the loss of any one pod)",
    );
  if (s.sentinels < 3)
    problems.add(
      at("sentinels"),
      `needs at least 3 sentinels, got ${s.sentinels}`,
      "set sentinels: 3 (fewer cannot keep a majority when one is lost)",
    );
  else if (s.sentinels % 2 === 0)
    problems.add(
      at("sentinels"),
      `must be odd, got ${s.sentinels}`,
      `set sentinels: ${s.sentinels + 1} (an even count adds no fault tolerance and can split evenly)`,
    );
  const need = majority(s.sentinels);
  if (s.quorum < need)
    problems.add(
      at("quorum"),
      `must be a majority of the ${s.sentinels} sentinels (at least ${need}), got ${s.quorum}`,
      `set quorum: ${need} or leave it out (default: majority); a minority quorum lets a partitioned minority declare the master down`,
    );
  else if (s.quorum > s.sentinels)
    problems.add(
      at("quorum"),
      `cannot exceed the ${s.sentinels} sentinels, got ${s.quorum}`,
      `set quorum: ${need}`,
    );
  if (s.minReplicasToWrite < 1)
    problems.add(
      at("minReplicasToWrite"),
      "must be at least 1, got 0",
      "set minReplicasToWrite: 1 so an isolated master stops taking writes (split-brain guard)",
    );
  else if (s.minReplicasToWrite > s.replicas)
    problems.add(
      at("minReplicasToWrite"),
      `cannot exceed the ${s.replicas} replicas, got ${s.minReplicasToWrite}`,
      `set minReplicasToWrite: 1 (at most ${Math.max(1, s.replicas - 1)} keeps writes going when one replica is lost)`,
    );
  if ((s.appendfsync as string) === "no")
    problems.add(
      at("appendfsync"),
      `"no" leaves fsync to the OS (up to ~30s of writes lost)`,
      'set appendfsync: everysec (or "always")',
    );
  if (s.failoverTimeout < 2 * s.downAfterMilliseconds)
    problems.add(
      at("failoverTimeout"),
      `must be at least twice downAfterMilliseconds (${2 * s.downAfterMilliseconds}), got ${s.failoverTimeout}`,
      `set failoverTimeout: ${Math.max(30000, 2 * s.downAfterMilliseconds)}`,
    );
  if (s.parallelSyncs > s.replicas)
    problems.add(
      at("parallelSyncs"),
      `cannot exceed the ${s.replicas} replicas, got ${s.parallelSyncs}`,
      "set parallelSyncs: 1",
    );
}

/** The `check` of the `drstack:redis` config key: every cross-field problem, before any resource. */
export function checkRedisConfig(value: unknown, path: string, problems: Problems): void {
  normalizeRedisSettings(value, problems, path);
}
