/**
 * The backup jobs of a site as plain data, and the Kubernetes CronJob spec for each. Pure: the
 * component only turns these into resources; tests and policies read the same values.
 */
import type { Input } from "@pulumi/pulumi";
import { PUSHGATEWAY_AUTH_SECRET } from "../monitoring/scrape";
import { IMAGES, type ImageName, TOOLS_DIR } from "../shared/images";
import type { StorageTarget } from "../storage/settings";

export type { StorageTarget };
import {
  renderCopyScript,
  renderCustodialKeysScript,
  renderKeysBackupScript,
  renderPgBackupScript,
  renderRedisBackupScript,
} from "./scripts";
import type { BackupSettings } from "./settings";
import {
  DEFAULT_ROW_CHECKS,
  renderVerifyRedisStep,
  renderVerifyScript,
  type RowCheck,
} from "./verify";

/** A bucket the jobs write to (names may be unknown until deployment: `T` is a Pulumi Input). */
export interface PostgresSource {
  /** pgBackRest stanza (the Patroni scope). Default `pg-<network>`. */
  readonly stanza: string;
  /** Repository path in the bucket. Default `/pgbackrest/<stanza>`. */
  readonly repoPath: string;
  /** Secret (in the backup namespace) with key `passphrase`: the repository's aes-256-cbc cipher pass. Default `drstack-pgbackrest-cipher`. */
  readonly cipherSecret: string;
  /** Host of the pgBackRest TLS server on the Patroni primary. Default: the primary Service, `<scope>.<data ns>.svc`. */
  readonly host: Input<string>;
  /** PGDATA on the database pods. Default: the Patroni pods' (`/pgdata/pg15`). */
  readonly path: string;
  /**
   * PostgreSQL's Unix socket directory on the database pods. pgBackRest hands the client's value
   * to the TLS server (the server's own config does not apply), so the job must name it.
   * Default `/tmp` (the Patroni pods' `unix_socket_directories`).
   */
  readonly socketPath?: string;
  /** PostgreSQL's port on the database pods (passed to the TLS server likewise). Default 5432. */
  readonly port?: number;
  /** Secret (in the backup namespace) with the pgBackRest TLS client files ca.crt, tls.crt, tls.key. Default `drstack-pgbackrest-tls`. */
  readonly tlsSecret: string;
}

export interface RedisSource {
  /** Sentinel service host. Default `<prefix>-redis-sentinel.<data ns>.svc`. */
  readonly sentinelHost: string;
  /** Default 26379. */
  readonly sentinelPort: number;
  /** Sentinel master name. Default `drstack`. */
  readonly masterName: string;
  /** Secret (in the backup namespace) with key `password` for Redis AUTH. Default `drstack-redis-auth`. */
  readonly authSecret: string;
}

export interface JobEnv {
  readonly name: string;
  readonly value?: Input<string>;
  readonly secret?: { readonly name: string; readonly key: string };
}

export interface JobMount {
  /** Volume name in the pod. */
  readonly name: string;
  readonly mountPath: string;
  readonly source: { readonly secret: string } | { readonly configMap: string };
}

/** A script run in an init container before the job's main container (same env and mounts). */
export interface JobStep {
  /** Container name; its script is `<role>-<name>.sh` in the scripts ConfigMap. */
  readonly name: string;
  readonly image: ImageName;
  readonly script: string;
}

/** One CronJob. `role` names the resource (`<component>-<role>`) and the Kubernetes object. */
export interface BackupJob {
  readonly role: string;
  readonly schedule: string;
  readonly script: string;
  /** Catalogue image of the main container (see components/shared/images.ts). */
  readonly image: ImageName;
  /** The job needs rclone: an init container copies it (and the CA bundle) from the rclone image into /tools. */
  readonly tools: boolean;
  /** Init containers run (in order) before the main container. Default none. */
  readonly steps?: readonly JobStep[];
  readonly activeDeadlineSeconds: number;
  /** Created suspended (pgBackRest jobs on a standby site, resumed when it is promoted). */
  readonly suspend: boolean;
  readonly env: readonly JobEnv[];
  readonly mounts: readonly JobMount[];
  /** Scratch space (`/scratch`), in memory for anything that may hold plaintext secrets. */
  readonly scratch: { readonly medium: "" | "Memory"; readonly sizeLimit: string };
}

export interface JobPlanInput {
  readonly site: string;
  readonly settings: BackupSettings;
  readonly target: StorageTarget<unknown>;
  /** Present when the site runs PostgreSQL. */
  readonly postgres?: PostgresSource;
  /**
   * The site's PostgreSQL is a standby cluster (no primary to back up): pgBackRest jobs are
   * created suspended and restore verification skips PostgreSQL. Default false.
   */
  readonly postgresStandby?: boolean;
  /** Present when the site runs Redis. */
  readonly redis?: RedisSource;
  /** Secret holding validator keys and config, when the site runs validators and a recipient is set. */
  readonly keysSecret?: string;
  /** ConfigMap holding the OpenPGP recipient key (`recipient.asc`) for the optional OpenPGP key job. */
  readonly recipientConfigMap?: string;
  readonly rowChecks?: readonly RowCheck[];
  /** Second bucket to copy to (GCP copy mode, cross-cloud), with its rclone remote settings. */
  readonly copies?: readonly { readonly role: string; readonly target: StorageTarget<unknown> }[];
}

/** rclone remote `<remote>:` for a bucket, configured by environment (workload identity / IRSA). */
export function rcloneEnv(
  remote: string,
  target: StorageTarget<unknown>,
): { name: string; value: unknown }[] {
  const p = `RCLONE_CONFIG_${remote.toUpperCase()}_`;
  if (target.cloud === "aws") {
    return [
      { name: `${p}TYPE`, value: "s3" },
      { name: `${p}PROVIDER`, value: "AWS" },
      { name: `${p}ENV_AUTH`, value: "true" },
      { name: `${p}REGION`, value: target.region },
      { name: `${p}SERVER_SIDE_ENCRYPTION`, value: "aws:kms" },
      ...(target.kmsKeyArn !== undefined
        ? [{ name: `${p}SSE_KMS_KEY_ID`, value: target.kmsKeyArn }]
        : []),
    ];
  }
  return [
    { name: `${p}TYPE`, value: "google cloud storage" },
    { name: `${p}ENV_AUTH`, value: "true" },
    { name: `${p}BUCKET_POLICY_ONLY`, value: "true" },
  ];
}

/** pgBackRest repository settings (environment) for the bucket: encrypted, retention by time (days). */
export function pgbackrestRepoEnv(
  pg: PostgresSource,
  target: StorageTarget<unknown>,
  retentionDays: number,
): JobEnv[] {
  const common: JobEnv[] = [
    { name: "PGBACKREST_STANZA", value: pg.stanza },
    { name: "PGBACKREST_REPO1_PATH", value: pg.repoPath },
    { name: "PGBACKREST_REPO1_CIPHER_TYPE", value: "aes-256-cbc" },
    { name: "PGBACKREST_REPO1_CIPHER_PASS", secret: { name: pg.cipherSecret, key: "passphrase" } },
    { name: "PGBACKREST_REPO1_RETENTION_FULL_TYPE", value: "time" },
    { name: "PGBACKREST_REPO1_RETENTION_FULL", value: String(retentionDays) },
    { name: "PGBACKREST_REPO1_BUNDLE", value: "y" },
    { name: "PGBACKREST_COMPRESS_TYPE", value: "zst" },
    { name: "PGBACKREST_LOG_PATH", value: "/scratch/log" },
    { name: "PGBACKREST_LOCK_PATH", value: "/scratch/lock" },
    { name: "PGBACKREST_SPOOL_PATH", value: "/scratch/spool" },
  ];
  if (target.cloud === "aws") {
    return [
      ...common,
      { name: "PGBACKREST_REPO1_TYPE", value: "s3" },
      { name: "PGBACKREST_REPO1_S3_BUCKET", value: target.bucket as string },
      { name: "PGBACKREST_REPO1_S3_REGION", value: target.region },
      { name: "PGBACKREST_REPO1_S3_ENDPOINT", value: `s3.${target.region}.amazonaws.com` },
      { name: "PGBACKREST_REPO1_S3_KEY_TYPE", value: "web-id" },
      ...(target.kmsKeyArn !== undefined
        ? [{ name: "PGBACKREST_REPO1_S3_KMS_KEY_ID", value: target.kmsKeyArn as string }]
        : []),
    ];
  }
  return [
    ...common,
    { name: "PGBACKREST_REPO1_TYPE", value: "gcs" },
    { name: "PGBACKREST_REPO1_GCS_BUCKET", value: target.bucket as string },
    { name: "PGBACKREST_REPO1_GCS_KEY_TYPE", value: "auto" },
  ];
}

const HOUR = 3600;

/** Credentials of the site's Pushgateway (SiteMonitoring's auth Secret in the backup namespace). */
function pushgatewayAuthEnv(): JobEnv[] {
  return [
    { name: "PUSHGATEWAY_USER", secret: { name: PUSHGATEWAY_AUTH_SECRET, key: "username" } },
    { name: "PUSHGATEWAY_PASSWORD", secret: { name: PUSHGATEWAY_AUTH_SECRET, key: "password" } },
  ];
}

/** Every backup job the site needs, in a stable order. */
export function planBackupJobs(input: JobPlanInput): BackupJob[] {
  const { settings: s, target, site } = input;
  const base = [
    { name: "SITE", value: site },
    { name: "BUCKET", value: target.bucket as string },
    { name: "PUSHGATEWAY_URL", value: s.pushgateway },
    ...pushgatewayAuthEnv(),
    { name: "SCRATCH_DIR", value: "/scratch" },
    { name: "HOME", value: "/scratch" },
    ...(rcloneEnv("backup", target) as JobEnv[]),
  ] as JobEnv[];
  const disk = { medium: "" as const, sizeLimit: "20Gi" };
  const jobs: BackupJob[] = [];
  if (input.postgres) {
    const pg = input.postgres;
    const pgEnv = [
      ...base,
      ...pgbackrestRepoEnv(pg, target, s.retentionDays),
      { name: "STANZA", value: pg.stanza },
    ];
    const tls = [
      { name: "PGBACKREST_PG1_HOST", value: pg.host },
      { name: "PGBACKREST_PG1_HOST_TYPE", value: "tls" },
      { name: "PGBACKREST_PG1_PATH", value: pg.path },
      { name: "PGBACKREST_PG1_SOCKET_PATH", value: pg.socketPath ?? "/tmp" },
      { name: "PGBACKREST_PG1_PORT", value: String(pg.port ?? 5432) },
      { name: "PGBACKREST_PG1_HOST_CA_FILE", value: "/tls/ca.crt" },
      { name: "PGBACKREST_PG1_HOST_CERT_FILE", value: "/tls/tls.crt" },
      { name: "PGBACKREST_PG1_HOST_KEY_FILE", value: "/tls/tls.key" },
    ];
    const tlsMount: JobMount = {
      name: "pgbackrest-tls",
      mountPath: "/tls",
      source: { secret: pg.tlsSecret },
    };
    const deadlines = { full: 6 * HOUR, diff: 3 * HOUR, incr: 50 * 60 };
    for (const type of ["full", "diff", "incr"] as const) {
      jobs.push({
        role: `pg-${type}`,
        schedule: s.schedules[type],
        script: renderPgBackupScript(type, s.minBytes[type]),
        image: "postgres",
        tools: false,
        activeDeadlineSeconds: deadlines[type],
        suspend: input.postgresStandby ?? false,
        env: [...pgEnv, ...tls],
        mounts: [tlsMount],
        scratch: { medium: "", sizeLimit: "2Gi" },
      });
    }
  }
  if (input.redis) {
    const r = input.redis;
    jobs.push({
      role: "redis",
      schedule: s.schedules.redis,
      script: renderRedisBackupScript(s.minBytes.redis),
      image: "redisTools",
      tools: true,
      activeDeadlineSeconds: 50 * 60,
      suspend: false,
      env: [
        ...base,
        { name: "SENTINEL_HOST", value: r.sentinelHost },
        { name: "SENTINEL_PORT", value: String(r.sentinelPort) },
        { name: "REDIS_MASTER_NAME", value: r.masterName },
        { name: "REDISCLI_AUTH", secret: { name: r.authSecret, key: "password" } },
      ],
      mounts: [],
      scratch: disk,
    });
  }
  if (input.keysSecret && s.keyRecovery) {
    jobs.push({
      role: "keys",
      schedule: s.schedules.keys,
      script: renderCustodialKeysScript(s.minBytes.keys),
      image: "node",
      tools: true,
      activeDeadlineSeconds: 15 * 60,
      suspend: false,
      env: [
        ...base,
        { name: "KEYS_DIR", value: "/keys" },
        { name: "RECOVERY_PUBLIC_KEY", value: s.keyRecovery.publicKey },
        { name: "RECOVERY_SHARES", value: String(s.keyRecovery.shares) },
        { name: "RECOVERY_THRESHOLD", value: String(s.keyRecovery.threshold) },
      ],
      mounts: [
        { name: "validator-keys", mountPath: "/keys", source: { secret: input.keysSecret } },
      ],
      scratch: { medium: "Memory", sizeLimit: "256Mi" },
    });
  }
  // The OpenPGP variant needs gpg, which only the single-image variant (`settings.image`) carries.
  else if (input.keysSecret && input.recipientConfigMap && s.image) {
    jobs.push({
      role: "keys",
      schedule: s.schedules.keys,
      script: renderKeysBackupScript(s.minBytes.keys),
      image: "debian",
      tools: true,
      activeDeadlineSeconds: 15 * 60,
      suspend: false,
      env: [
        ...base,
        { name: "KEYS_DIR", value: "/keys" },
        { name: "RECIPIENT_FILE", value: "/recipient/recipient.asc" },
      ],
      mounts: [
        { name: "validator-keys", mountPath: "/keys", source: { secret: input.keysSecret } },
        {
          name: "recipient",
          mountPath: "/recipient",
          source: { configMap: input.recipientConfigMap },
        },
      ],
      scratch: { medium: "Memory", sizeLimit: "256Mi" },
    });
  }
  const verifyPostgres = !!input.postgres && !input.postgresStandby;
  if (verifyPostgres || input.redis) {
    const env = [...base];
    if (verifyPostgres && input.postgres) {
      env.push(...pgbackrestRepoEnv(input.postgres, target, s.retentionDays), {
        name: "STANZA",
        value: input.postgres.stanza,
      });
    }
    // PostgreSQL checks run in the PostgreSQL image; the RDB check needs redis-check-rdb and
    // rclone, so with both it runs first in an init container and hands its result over /scratch.
    const redisStep = verifyPostgres && !!input.redis;
    jobs.push({
      role: "verify",
      schedule: s.schedules.verify,
      script: renderVerifyScript({
        postgres: verifyPostgres,
        redis: redisStep ? "step" : !!input.redis,
        rowChecks: input.rowChecks ?? DEFAULT_ROW_CHECKS,
      }),
      image: verifyPostgres ? "postgres" : "redisTools",
      tools: !!input.redis,
      ...(redisStep
        ? { steps: [{ name: "redis", image: "redisTools", script: renderVerifyRedisStep() }] }
        : {}),
      activeDeadlineSeconds: 5 * HOUR,
      suspend: false,
      env,
      mounts: [],
      scratch: { medium: "", sizeLimit: "100Gi" },
    });
  }
  for (const copy of input.copies ?? []) {
    jobs.push({
      role: copy.role,
      schedule: s.schedules.copy,
      script: renderCopyScript(copy.role),
      image: "debian",
      tools: true,
      activeDeadlineSeconds: 2 * HOUR,
      suspend: false,
      env: [
        ...base,
        { name: "TARGET_BUCKET", value: copy.target.bucket as string },
        ...(rcloneEnv("target", copy.target) as JobEnv[]),
      ],
      mounts: [],
      scratch: { medium: "", sizeLimit: "1Gi" },
    });
  }
  return jobs;
}

export interface CronJobCommon {
  /**
   * The single-image variant (every tool in one image, built from images/backup-tools/Containerfile):
   * when set, every container runs it and no tools init container is added. Default: each job's
   * catalogue image.
   */
  readonly image?: string;
  readonly serviceAccountName: string;
  readonly scriptsConfigMap: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** UID/GID the job containers run as (restricted Pod Security). */
export const JOB_UID = 10001;

/** Kubernetes `env` entries of a job. */
function podEnv(env: readonly JobEnv[]): Record<string, unknown>[] {
  return env.map((e) =>
    e.secret
      ? { name: e.name, valueFrom: { secretKeyRef: { name: e.secret.name, key: e.secret.key } } }
      : { name: e.name, value: e.value },
  );
}

const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** Script file name of a job's main container or of one of its steps. */
export function scriptFile(role: string, step?: string): string {
  return step ? `${role}-${step}.sh` : `${role}.sh`;
}

/** Every script a job runs, by ConfigMap key (main container and steps). */
export function jobScripts(job: BackupJob): [string, string][] {
  return [
    [scriptFile(job.role), job.script],
    ...(job.steps ?? []).map((st): [string, string] => [scriptFile(job.role, st.name), st.script]),
  ];
}

/** Every image reference a job's pod names (init containers first). */
export function jobImages(job: BackupJob, single?: string): string[] {
  if (single) return [single];
  return [
    ...(job.tools ? [IMAGES.rclone.ref] : []),
    ...(job.steps ?? []).map((st) => IMAGES[st.image].ref),
    IMAGES[job.image].ref,
  ];
}

/**
 * The CronJob `spec` for a job: Forbid overlaps, bounded retries and deadlines, restricted pods.
 * Each script runs in the catalogue image that carries its tools; rclone (a static binary) and
 * the CA bundle are copied from the rclone image into the emptyDir /tools by the `tools` init
 * container where the job's image lacks them.
 */
export function cronJobSpec(job: BackupJob, common: CronJobCommon): Record<string, unknown> {
  const labels = { ...common.labels, "drstack.io/backup-job": job.role };
  const tools = job.tools && !common.image;
  const volumes = [
    { name: "scripts", configMap: { name: common.scriptsConfigMap, defaultMode: 0o555 } },
    {
      name: "scratch",
      emptyDir: {
        ...(job.scratch.medium ? { medium: job.scratch.medium } : {}),
        sizeLimit: job.scratch.sizeLimit,
      },
    },
    { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
    ...(tools ? [{ name: "tools", emptyDir: { sizeLimit: "256Mi" } }] : []),
    ...job.mounts.map((m) =>
      "secret" in m.source
        ? { name: m.name, secret: { secretName: m.source.secret, defaultMode: 0o400 } }
        : { name: m.name, configMap: { name: m.source.configMap, defaultMode: 0o444 } },
    ),
  ];
  const env = podEnv([...job.env, ...(tools ? [{ name: "TOOLS_DIR", value: TOOLS_DIR }] : [])]);
  const volumeMounts = [
    { name: "scripts", mountPath: "/scripts", readOnly: true },
    { name: "scratch", mountPath: "/scratch" },
    { name: "tmp", mountPath: "/tmp" },
    ...(tools ? [{ name: "tools", mountPath: TOOLS_DIR, readOnly: true }] : []),
    ...job.mounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: true })),
  ];
  const resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "2Gi" } };
  const container = (name: string, image: ImageName, script: string) => ({
    name,
    image: common.image ?? IMAGES[image].ref,
    command: ["/bin/bash", `/scripts/${script}`],
    env,
    volumeMounts,
    resources,
    securityContext: CONTAINER_SECURITY,
  });
  const initContainers = [
    ...(tools
      ? [
          {
            name: "tools",
            image: IMAGES.rclone.ref,
            // The rclone image's busybox; rclone is static (CGO_ENABLED=0) and runs in any image.
            command: [
              "/bin/sh",
              "-c",
              `cp /usr/local/bin/rclone /etc/ssl/certs/ca-certificates.crt ${TOOLS_DIR}/ && ${TOOLS_DIR}/rclone version`,
            ],
            volumeMounts: [{ name: "tools", mountPath: TOOLS_DIR }],
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
            securityContext: CONTAINER_SECURITY,
          },
        ]
      : []),
    ...(job.steps ?? []).map((st) =>
      container(`${job.role}-${st.name}`, st.image, scriptFile(job.role, st.name)),
    ),
  ];
  return {
    schedule: job.schedule,
    timeZone: "Etc/UTC",
    suspend: job.suspend,
    concurrencyPolicy: "Forbid",
    startingDeadlineSeconds: 600,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 5,
    jobTemplate: {
      metadata: { labels },
      spec: {
        backoffLimit: 2,
        activeDeadlineSeconds: job.activeDeadlineSeconds,
        ttlSecondsAfterFinished: 7 * 24 * HOUR,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: common.serviceAccountName,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: JOB_UID,
              runAsGroup: JOB_UID,
              fsGroup: JOB_UID,
              seccompProfile: { type: "RuntimeDefault" },
            },
            ...(initContainers.length > 0 ? { initContainers } : {}),
            containers: [container(job.role, job.image, scriptFile(job.role))],
            volumes,
          },
        },
      },
    },
  };
}
