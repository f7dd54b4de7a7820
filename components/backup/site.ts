/**
 * How a site's backups, bucket and alerts are put together (called by `DrSite`): the bucket and
 * BackupSchedule for sites running `backup`, the PrometheusRule for every site.
 */
import type { Namespace } from "@pulumi/kubernetes/core/v1/namespace";
import type { Provider } from "@pulumi/kubernetes/provider";
import type * as pulumi from "@pulumi/pulumi";
import { SiteAlerts } from "../monitoring/SiteAlerts";
import { namespaceName, siteLabels } from "../shared/labels";
import { DATA_DIR, TMP_DIR } from "../postgres/kubernetes";
import type { PostgresFacts } from "../postgres/facts";
import { BACKUP_TLS_SECRET } from "../postgres/tls";
import type { RedisFacts } from "../redis/RedisSentinel";
import { bucketNames } from "../storage/plan";
import { ReplicatedBucket } from "../storage/ReplicatedBucket";
import { ConfigError, Problems } from "../topology/errors";
import type { Network, Site } from "../topology/model";
import type { SiteSettings } from "../topology/siteConfig";
import { BackupSchedule } from "./BackupSchedule";
import type { PostgresSource, RedisSource } from "./jobs";
import { BACKUP_CONFIG_KEY, type BackupSettings, backupSettings } from "./settings";

/** Plain facts about the site's backups, exported as stack outputs. */
export interface SiteBackupFacts {
  readonly bucket?: {
    readonly cloud: string;
    readonly name: string;
    readonly region: string;
    readonly replicaName: string;
    readonly replicaRegion: string;
    readonly replication: string;
  };
  /** Backup CronJob schedules by role (`pg-full`, `redis`, `verify` ...). */
  readonly backupJobs: Readonly<Record<string, string>>;
  readonly retentionDays?: number;
  /** `<namespace>/<name>` of the PrometheusRule. */
  readonly alertRule: string;
}

/** The site's `drstack:backup` settings; throws a ConfigError naming every problem. */
export function siteBackupSettings(
  site: Site,
  settings: SiteSettings,
  file?: string,
): BackupSettings {
  const problems = new Problems(file);
  const s = backupSettings(site, settings.structured[BACKUP_CONFIG_KEY], problems);
  if (problems.size > 0)
    throw new ConfigError(problems.list, `drstack:${BACKUP_CONFIG_KEY} is invalid`);
  return s;
}

/** Default pgBackRest stanza: the Patroni scope the PostgreSQL component uses (`pg-<network>`). */
export function defaultStanza(network: Network): string {
  return `pg-${network.name}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)
    .replace(/-+$/, "");
}

/** What the jobs back up, with defaults from the namespace conventions (override when wiring). */
export function defaultSources(
  network: Network,
  site: Site,
  prefix: string,
): { postgres?: PostgresSource; redis?: RedisSource; keysSecret?: string } {
  const dataNs = namespaceName(prefix, "data");
  const stanza = defaultStanza(network);
  return {
    ...(site.services.includes("postgres")
      ? {
          postgres: {
            stanza,
            repoPath: `/pgbackrest/${stanza}`,
            cipherSecret: "drstack-pgbackrest-cipher",
            host: `${stanza}.${dataNs}.svc`,
            path: DATA_DIR,
            socketPath: TMP_DIR,
            tlsSecret: BACKUP_TLS_SECRET,
          },
        }
      : {}),
    ...(site.services.includes("redis")
      ? {
          redis: {
            sentinelHost: `drstack-redis-sentinel.${dataNs}.svc`,
            sentinelPort: 26379,
            masterName: "drstack",
            authSecret: "drstack-redis-auth",
          },
        }
      : {}),
    ...(site.services.includes("validators") ? { keysSecret: "drstack-validator-keys" } : {}),
  };
}

export interface SiteProtectionContext {
  /** The site's PostgreSQL facts, when it runs one: stanza, repository, primary Service, cipher pass. */
  readonly postgres?: PostgresFacts;
  /** The site's Redis facts, when it runs one: Sentinel address, master name, password. */
  readonly redis?: RedisFacts;
  readonly network: Network;
  readonly site: Site;
  readonly settings: SiteSettings;
  readonly backup: BackupSettings;
  readonly provider: Provider;
  readonly namespaces: Partial<Record<"system" | "validators" | "data" | "backup", Namespace>>;
  /** Cloud identity annotations for the backup ServiceAccount (managed clusters). Default: none. */
  readonly identityAnnotations?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Called with the bucket component once created (a managed cluster grants access to it). */
  readonly onBucket?: (bucket: pulumi.Resource) => void;
}

/** `namespace/name` of a Service to its in-cluster DNS name. */
export function serviceHost(namespacedName: string): string {
  const [ns, name] = namespacedName.split("/");
  return `${name}.${ns}.svc`;
}

/**
 * What the jobs back up: the defaults, overridden by the PostgreSQL and Redis components' facts
 * where the site runs them (so jobs use the real stanza, repository path, Services and secrets).
 */
export function wiredSources(ctx: SiteProtectionContext): ReturnType<typeof defaultSources> {
  const d = defaultSources(ctx.network, ctx.site, ctx.settings.namespacePrefix);
  const pg = ctx.postgres;
  const r = ctx.redis;
  const [sentinelHost, sentinelPort] = r ? r.sentinel.split(/:(?=\d+$)/) : [];
  return {
    ...d,
    ...(d.postgres && pg
      ? {
          postgres: {
            ...d.postgres,
            stanza: pg.stanza,
            repoPath: pg.repo.path,
            host: pg.primaryService.apply(serviceHost),
            path: DATA_DIR,
            socketPath: TMP_DIR,
            port: pg.port,
          },
        }
      : {}),
    ...(d.redis && r
      ? {
          redis: {
            ...d.redis,
            masterName: r.masterName,
            sentinelHost,
            sentinelPort: Number(sentinelPort ?? d.redis.sentinelPort),
          },
        }
      : {}),
  };
}

/** Creates the bucket, backup jobs and alerts of a site as children of `parent`. */
export function buildSiteProtection(
  name: string,
  ctx: SiteProtectionContext,
  parent: pulumi.Resource,
): SiteBackupFacts {
  const { network, site, settings, backup } = ctx;
  const prefix = settings.namespacePrefix;
  let bucket: ReplicatedBucket | undefined;
  let schedule: BackupSchedule | undefined;
  if (site.services.includes("backup") && ctx.namespaces.backup) {
    const names = bucketNames(network.name, site, backup.bucketName);
    if (ctx.postgres && ctx.postgres.repo.bucket !== names.primary) {
      throw new ConfigError([
        {
          path: `config.drstack:${BACKUP_CONFIG_KEY}.bucketName`,
          message: `the backup bucket ${names.primary} differs from the PostgreSQL repository bucket ${ctx.postgres.repo.bucket}: WAL archiving and backups must share one repository`,
          fix: "set drstack:backup.bucketName and drstack:postgres backup.bucket to the same name (or leave both unset)",
        },
      ]);
    }
    bucket = new ReplicatedBucket(
      `${name}-backups`,
      { site, networkName: network.name, settings: backup, labels: siteLabels(site, "backup") },
      { parent },
    );
    ctx.onBucket?.(bucket);
    schedule = new BackupSchedule(
      `${name}-backup`,
      {
        site: site.name,
        namespace: ctx.namespaces.backup.metadata.name,
        provider: ctx.provider,
        settings: backup,
        target: bucket.target,
        ...wiredSources(ctx),
        postgresStandby: site.role === "standby",
        credentials: {
          ...(ctx.postgres
            ? { pgbackrestCipherPass: ctx.postgres.secrets.apply((x) => x.cipherPass) }
            : {}),
          ...(ctx.postgres?.pgbackrestTls ? { pgbackrestTls: ctx.postgres.pgbackrestTls } : {}),
          ...(ctx.redis ? { redisPassword: ctx.redis.password } : {}),
        },
        copies: bucket.copies,
        labels: siteLabels(site, "backup"),
        ...(ctx.identityAnnotations ? { identityAnnotations: ctx.identityAnnotations } : {}),
      },
      { parent },
    );
  }
  const alerts = new SiteAlerts(
    `${name}-alerts`,
    {
      namespace: ctx.namespaces.system!.metadata.name,
      provider: ctx.provider,
      labels: siteLabels(site, "alerts"),
      alerts: {
        site: site.name,
        backups: Object.fromEntries(
          Object.entries(schedule?.activeSchedules ?? {}).filter(([role]) => role !== "verify"),
        ),
        minBytes: Object.fromEntries(
          Object.entries(backup.minBytes).map(([k, v]) => [
            /^(full|diff|incr)$/.test(k) ? `pg-${k}` : k,
            v,
          ]),
        ),
        ...(schedule?.schedules.verify ? { verifySchedule: schedule.schedules.verify } : {}),
        postgres: site.services.includes("postgres"),
        redis: site.services.includes("redis"),
        validators: site.services.includes("validators"),
        validatorSelector: `namespace="${namespaceName(prefix, "validators")}"`,
        ...(bucket ? { bucketReplication: bucket.replication, bucketName: bucket.bucketName } : {}),
      },
    },
    { parent },
  );
  return {
    ...(bucket
      ? {
          bucket: {
            cloud: bucket.cloud,
            name: bucket.bucketName,
            region: bucket.region,
            replicaName: bucket.replicaBucketName,
            replicaRegion: bucket.replicaRegion,
            replication: bucket.replication,
          },
          retentionDays: backup.retentionDays,
        }
      : {}),
    backupJobs: { ...(schedule?.schedules ?? {}) },
    alertRule: `${namespaceName(prefix, "system")}/${alerts.ruleName}`,
  };
}
