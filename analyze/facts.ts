/**
 * What the analysis knows of each site, read back from the rendered resources (planner records or
 * the Pulumi analyzer's resources): the Patroni YAML and StatefulSet, sentinel.conf and redis.conf,
 * the backup CronJobs, the buckets and their replication, the replication-lag alert. Pure; works on
 * any `{ type, urn, props }`, so the CLI and the policy rules read the very same facts.
 */
import { backupCronJobs, PROMETHEUS_RULE_TYPE } from "../components/backup/inspect";
import {
  effectiveParameter,
  isOn,
  isPatroniStatefulSet,
  parsePatroni,
  patroniText,
} from "../components/postgres/inspect";
import {
  confValue,
  mountedConfigMaps,
  runsRedisServer,
  runsSentinel,
  sentinelMonitors,
} from "../components/redis/parse";
import { LABEL_PREFIX } from "../components/shared/labels";
import {
  gcsBucketName,
  gcsBuckets,
  gcsRegions,
  type Res,
  s3Buckets,
} from "../components/storage/inspect";
import { parseDuration } from "../components/topology/model";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface PostgresFacts {
  readonly members: number;
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
  readonly synchronousMode: boolean;
  readonly synchronousModeStrict: boolean;
  /** Patroni's `synchronous_node_count` (default 1). */
  readonly synchronousNodeCount: number;
  /** A standby cluster (`standby_cluster` set): a current copy of another site's data. */
  readonly standbyCluster: boolean;
  /** `archive_timeout` in seconds when WAL archiving is on; undefined when it is off. */
  readonly archiveTimeoutSeconds?: number;
  readonly image: string;
  /** Zones the members may run in (node affinity), spread with maxSkew 1. */
  readonly zones: readonly string[];
}

export interface RedisFacts {
  readonly servers: number;
  readonly sentinels: number;
  readonly quorum: number;
  readonly downAfterMilliseconds: number;
  readonly failoverTimeout: number;
  /** `min-replicas-max-lag` seconds when `min-replicas-to-write` > 0. */
  readonly minReplicasMaxLag?: number;
  /** The master replicates from another site (a standby's Redis is a replica of the primary's). */
  readonly replicaOfOtherSite: boolean;
}

export interface BucketCopy {
  readonly name: string;
  readonly cloud: "aws" | "gcp";
  readonly regions: readonly string[];
}

export interface BackupFacts {
  /** Backup CronJob role to cron schedule (`pg-full`, `pg-incr`, `redis`, `keys`, `copy-...`). */
  readonly schedules: Readonly<Record<string, string>>;
  /** Where the backups are (the site bucket and every replica or copy). */
  readonly copies: readonly BucketCopy[];
  /** The validator key backup job is deployed (needs drstack:backup.keyRecipient). */
  readonly keyBackup: boolean;
  /** Seconds a replica may trail its source (S3 RTC minutes, GCS turbo 15 min, copy schedule). */
  readonly replicationSeconds?: number;
}

export interface SiteFacts {
  readonly site: string;
  readonly postgres?: PostgresFacts;
  readonly redis?: RedisFacts;
  readonly backup?: BackupFacts;
  /** PostgresReplicationLag threshold (seconds) and its `for`, when the alert is deployed. */
  readonly lagAlert?: { readonly seconds: number; readonly forSeconds: number };
}

const SITE_LABEL = `${LABEL_PREFIX}/site`;

/** The stack a URN belongs to (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

/**
 * Resources grouped by the site they deploy: the `drstack.io/site` label any of a stack's
 * Kubernetes objects carries names the stack's site; every resource of that stack belongs to it.
 */
export function resourcesBySite(resources: readonly Res[]): Map<string, Res[]> {
  const byStack = new Map<string, Res[]>();
  for (const r of resources) {
    const s = stackOfUrn(r.urn);
    if (!byStack.has(s)) byStack.set(s, []);
    byStack.get(s)!.push(r);
  }
  const out = new Map<string, Res[]>();
  for (const list of byStack.values()) {
    const site = list.map((r) => r.props?.metadata?.labels?.[SITE_LABEL]).find((s) => !!s);
    if (typeof site !== "string") continue;
    out.set(site, [...(out.get(site) ?? []), ...list]);
  }
  return out;
}

const num = (v: unknown, d: number): number => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : d;
};

function postgresFacts(resources: readonly Res[]): PostgresFacts | undefined {
  const sts = resources.find((r) => isPatroniStatefulSet(r.type, r.props));
  if (!sts) return undefined;
  const cmNames = mountedConfigMaps(sts.props.spec?.template);
  const cm = resources.find(
    (r) =>
      r.type === "kubernetes:core/v1:ConfigMap" &&
      patroniText(r.props) !== undefined &&
      (cmNames.length === 0 || cmNames.includes(r.props.metadata?.name)),
  );
  const text = cm ? patroniText(cm.props) : undefined;
  if (!text) return undefined;
  const cfg = parsePatroni(text);
  const dcs: Obj = cfg.bootstrap?.dcs ?? {};
  const archive = isOn(effectiveParameter(cfg, "archive_mode"));
  const container = (sts.props.spec?.template?.spec?.containers ?? [])[0] as Obj | undefined;
  const terms: Obj[] =
    sts.props.spec?.template?.spec?.affinity?.nodeAffinity
      ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const zones = terms
    .flatMap((t) => (t.matchExpressions ?? []) as Obj[])
    .filter((e) => e.key === "topology.kubernetes.io/zone" && e.operator === "In")
    .flatMap((e) => (e.values ?? []) as string[]);
  return {
    members: num(sts.props.spec?.replicas, 1),
    // Patroni's own defaults when a key is absent (patroni/config.py __DEFAULT_CONFIG).
    ttl: num(dcs.ttl, 30),
    loopWait: num(dcs.loop_wait, 10),
    retryTimeout: num(dcs.retry_timeout, 10),
    synchronousMode: isOn(dcs.synchronous_mode),
    synchronousModeStrict: isOn(dcs.synchronous_mode_strict),
    synchronousNodeCount: num(dcs.synchronous_node_count, 1),
    standbyCluster: !!dcs.standby_cluster,
    ...(archive
      ? { archiveTimeoutSeconds: num(effectiveParameter(cfg, "archive_timeout"), 0) }
      : {}),
    image: String(container?.image ?? ""),
    zones: [...new Set(zones)],
  };
}

function replicasOf(resources: readonly Res[], pred: (tpl: Obj | undefined) => boolean): number {
  return resources
    .filter(
      (r) =>
        r.type === "kubernetes:apps/v1:StatefulSet" || r.type === "kubernetes:apps/v1:Deployment",
    )
    .filter((r) => pred(r.props.spec?.template))
    .reduce((a, r) => a + num(r.props.spec?.replicas, 1), 0);
}

function redisFacts(resources: readonly Res[]): RedisFacts | undefined {
  const servers = resources.filter(
    (r) => r.type === "kubernetes:apps/v1:StatefulSet" && runsRedisServer(r.props.spec?.template),
  );
  if (servers.length === 0) return undefined;
  const pod: Obj = servers[0].props.spec?.template?.spec ?? {};
  const env = [
    ...((pod.initContainers ?? []) as Obj[]),
    ...((pod.containers ?? []) as Obj[]),
  ].flatMap((c) => (c.env ?? []) as Obj[]);
  const replicaOfOtherSite = env.some((e) => e.name === "MODE" && e.value === "replica");
  const cms = resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap");
  const sentinelText = cms
    .map((r) => r.props.data?.["sentinel.conf"])
    .find((t): t is string => typeof t === "string");
  // A replica site's sentinels monitor nothing until the stack swap makes it the primary.
  const monitor = sentinelText ? sentinelMonitors(sentinelText)[0] : undefined;
  const redisConf = cms
    .map((r) => r.props.data?.["redis.conf"])
    .find((t): t is string => typeof t === "string");
  const minToWrite = redisConf ? num(confValue(redisConf, "min-replicas-to-write"), 0) : 0;
  return {
    servers: replicasOf(resources, runsRedisServer),
    sentinels: replicasOf(resources, runsSentinel),
    // Redis's own defaults when a directive is absent (sentinel.conf).
    quorum: monitor?.quorum ?? 0,
    downAfterMilliseconds: num(monitor?.options["down-after-milliseconds"], 30_000),
    failoverTimeout: num(monitor?.options["failover-timeout"], 180_000),
    ...(minToWrite > 0 && redisConf
      ? { minReplicasMaxLag: num(confValue(redisConf, "min-replicas-max-lag"), 10) }
      : {}),
    replicaOfOtherSite,
  };
}

function backupFacts(resources: readonly Res[]): BackupFacts | undefined {
  const jobs = backupCronJobs(resources);
  const copies: BucketCopy[] = [];
  let replicationSeconds: number | undefined;
  for (const b of s3Buckets(resources)) {
    if (b.region) copies.push({ name: b.name, cloud: "aws", regions: [b.region] });
  }
  for (const r of resources.filter(
    (x) => x.type === "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  )) {
    for (const rule of (r.props.rules ?? []) as Obj[]) {
      const minutes = rule?.destination?.replicationTime?.time?.minutes;
      if (rule?.status === "Enabled" && typeof minutes === "number")
        replicationSeconds = Math.max(replicationSeconds ?? 0, minutes * 60);
    }
  }
  for (const g of gcsBuckets(resources)) {
    copies.push({ name: gcsBucketName(g), cloud: "gcp", regions: gcsRegions(g) });
    // Turbo replication's documented target: 100% of objects within 15 minutes.
    if (g.props.rpo === "ASYNC_TURBO") replicationSeconds = Math.max(replicationSeconds ?? 0, 900);
  }
  if (jobs.length === 0 && copies.length === 0) return undefined;
  const schedules: Record<string, string> = {};
  for (const j of jobs) if (!j.suspended) schedules[j.role] = j.schedule;
  return {
    schedules,
    copies,
    keyBackup: "keys" in schedules,
    ...(replicationSeconds ? { replicationSeconds } : {}),
  };
}

function lagAlert(resources: readonly Res[]): SiteFacts["lagAlert"] {
  for (const r of resources.filter((x) => x.type === PROMETHEUS_RULE_TYPE)) {
    for (const g of (r.props.spec?.groups ?? []) as Obj[])
      for (const rule of (g.rules ?? []) as Obj[]) {
        if (rule.alert !== "PostgresReplicationLag") continue;
        const m = /patroni_xlog_replayed_timestamp\s*>\s*(\d+)/.exec(String(rule.expr));
        if (!m) continue;
        return { seconds: Number(m[1]), forSeconds: parseDuration(String(rule.for ?? "0s")) ?? 0 };
      }
  }
  return undefined;
}

/** Facts of one site from its stack's resources. */
export function siteFacts(site: string, resources: readonly Res[]): SiteFacts {
  const pg = postgresFacts(resources);
  const redis = redisFacts(resources);
  const backup = backupFacts(resources);
  const lag = lagAlert(resources);
  return {
    site,
    ...(pg ? { postgres: pg } : {}),
    ...(redis ? { redis } : {}),
    ...(backup ? { backup } : {}),
    ...(lag ? { lagAlert: lag } : {}),
  };
}
