/**
 * `drstack:backup:BackupSchedule`: the site's backup CronJobs (pgBackRest full/diff/incr, Redis
 * RDB, validator keys encrypted client-side, restore verification, bucket copies) in the backup
 * namespace, with their scripts in one ConfigMap and a ServiceAccount for bucket access.
 * Everything it creates comes from `planBackupJobs` / `cronJobSpec` (pure).
 */
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import { ServiceAccount } from "@pulumi/kubernetes/core/v1/serviceAccount";
import { CronJob } from "@pulumi/kubernetes/batch/v1/cronJob";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import {
  cronJobSpec,
  jobScripts,
  planBackupJobs,
  type PostgresSource,
  type RedisSource,
  type StorageTarget,
} from "./jobs";
import type { BackupSettings } from "./settings";
import type { RowCheck } from "./verify";

export interface BackupScheduleArgs {
  readonly site: string;
  /** Namespace the jobs run in (the site's backup namespace). */
  readonly namespace: pulumi.Input<string>;
  readonly provider: Provider;
  readonly settings: BackupSettings;
  /** The bucket backups go to. */
  readonly target: StorageTarget<pulumi.Input<string>>;
  /** The site's PostgreSQL, when it runs one. Default: none (no pgBackRest jobs). */
  readonly postgres?: PostgresSource;
  /** PostgreSQL here is a standby cluster: pgBackRest jobs are created suspended. Default false. */
  readonly postgresStandby?: boolean;
  /** The site's Redis, when it runs one. Default: none (no RDB job). */
  readonly redis?: RedisSource;
  /** Secret with validator keys/config to back up. Default: none (no key backup). Needs `settings.keyRecovery` (or `keyRecipient` + `image`). */
  readonly keysSecret?: string;
  /** Queries the restored database must pass. Default `DEFAULT_ROW_CHECKS` (catalog readable). */
  readonly rowChecks?: readonly RowCheck[];
  /** Extra buckets to copy the backup bucket to (GCP copy mode, cross-cloud). Default: none. */
  readonly copies?: readonly {
    readonly role: string;
    readonly target: StorageTarget<pulumi.Input<string>>;
  }[];
  /**
   * Credentials the jobs need, copied into the Secret `drstack-backup-credentials` in the backup
   * namespace (keys `passphrase`, `password`), which then replaces `postgres.cipherSecret` /
   * `redis.authSecret`. Default: none (those Secrets must exist in the backup namespace).
   */
  readonly credentials?: {
    readonly pgbackrestCipherPass?: pulumi.Input<string>;
    readonly redisPassword?: pulumi.Input<string>;
    /**
     * The pgBackRest TLS client files (from the PostgreSQL component), written into the Secret
     * `postgres.tlsSecret` (keys `ca.crt`, `tls.crt`, `tls.key`). Default: none (that Secret
     * must exist in the backup namespace).
     */
    readonly pgbackrestTls?: pulumi.Input<{
      readonly ca: string;
      readonly cert: string;
      readonly key: string;
    }>;
  };
  /** Labels every object carries. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Cloud identity of the jobs' ServiceAccount on a managed cluster (IRSA role ARN, GKE service
   * account), added to `settings.serviceAccountAnnotations`. Default: none.
   */
  readonly identityAnnotations?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Name of the Secret BackupSchedule writes `credentials` into. */
export const CREDENTIALS_SECRET = "drstack-backup-credentials";

export class BackupSchedule extends pulumi.ComponentResource {
  /** CronJobs by role (`pg-full`, `redis`, `verify` ...). */
  readonly cronJobs: Record<string, CronJob> = {};
  /** Kubernetes names of the CronJobs by role. */
  readonly jobNames: Record<string, string> = {};
  /** Cron schedules by role, as deployed. */
  readonly schedules: Record<string, string> = {};
  /** Schedules of the jobs that are not suspended (what alerts expect to succeed). */
  readonly activeSchedules: Record<string, string> = {};

  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:backup:BackupSchedule", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const s = args.settings;

    const serviceAccount = new ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name: "drstack-backup",
          namespace: args.namespace,
          labels: args.labels,
          annotations: { ...s.serviceAccountAnnotations, ...args.identityAnnotations },
        },
        automountServiceAccountToken: false,
      },
      child,
    );

    let recipientConfigMap: string | undefined;
    if (args.keysSecret && s.keyRecipient && !s.keyRecovery) {
      recipientConfigMap = "drstack-backup-recipient";
      new ConfigMap(
        `${name}-recipient`,
        {
          metadata: { name: recipientConfigMap, namespace: args.namespace, labels: args.labels },
          data: { "recipient.asc": s.keyRecipient },
        },
        child,
      );
    } else if (args.keysSecret && !s.keyRecovery) {
      pulumi.log.warn(
        `${args.site}: validator key backup is disabled: set drstack:backup.keyRecovery (drstack keys recovery-key prints it; see docs/keys.md)`,
        this,
      );
    }

    const creds = args.credentials ?? {};
    const stringData: Record<string, pulumi.Input<string>> = {
      ...(creds.pgbackrestCipherPass !== undefined
        ? { passphrase: creds.pgbackrestCipherPass }
        : {}),
      ...(creds.redisPassword !== undefined ? { password: creds.redisPassword } : {}),
    };
    if (Object.keys(stringData).length > 0) {
      new Secret(
        `${name}-credentials`,
        {
          metadata: { name: CREDENTIALS_SECRET, namespace: args.namespace, labels: args.labels },
          stringData: pulumi.secret(stringData),
        },
        { ...child, additionalSecretOutputs: ["data", "stringData"] },
      );
    }
    if (args.postgres && creds.pgbackrestTls !== undefined) {
      new Secret(
        `${name}-pgbackrest-tls`,
        {
          metadata: {
            name: args.postgres.tlsSecret,
            namespace: args.namespace,
            labels: args.labels,
          },
          type: "kubernetes.io/tls",
          stringData: pulumi.secret(
            pulumi.output(creds.pgbackrestTls).apply((f) => ({
              "ca.crt": f.ca,
              "tls.crt": f.cert,
              "tls.key": f.key,
            })),
          ),
        },
        { ...child, additionalSecretOutputs: ["data", "stringData"] },
      );
    }
    const postgres =
      args.postgres && creds.pgbackrestCipherPass !== undefined
        ? { ...args.postgres, cipherSecret: CREDENTIALS_SECRET }
        : args.postgres;
    const redis =
      args.redis && creds.redisPassword !== undefined
        ? { ...args.redis, authSecret: CREDENTIALS_SECRET }
        : args.redis;

    const jobs = planBackupJobs({
      site: args.site,
      settings: s,
      target: args.target,
      postgres,
      postgresStandby: args.postgresStandby,
      redis,
      keysSecret: args.keysSecret,
      recipientConfigMap,
      rowChecks: args.rowChecks,
      copies: args.copies,
    });

    const scriptsName = "drstack-backup-scripts";
    const scripts = new ConfigMap(
      `${name}-scripts`,
      {
        metadata: { name: scriptsName, namespace: args.namespace, labels: args.labels },
        data: Object.fromEntries(jobs.flatMap(jobScripts)),
      },
      child,
    );

    for (const job of jobs) {
      const k8sName = `drstack-backup-${job.role}`;
      this.jobNames[job.role] = k8sName;
      this.schedules[job.role] = job.schedule;
      if (!job.suspend) this.activeSchedules[job.role] = job.schedule;
      this.cronJobs[job.role] = new CronJob(
        `${name}-${job.role}`,
        {
          metadata: {
            name: k8sName,
            namespace: args.namespace,
            labels: { ...args.labels, "drstack.io/backup-job": job.role },
          },
          spec: cronJobSpec(job, {
            ...(s.image ? { image: s.image } : {}),
            serviceAccountName: "drstack-backup",
            scriptsConfigMap: scriptsName,
            labels: args.labels,
          }) as never,
        },
        { ...child, dependsOn: [scripts, serviceAccount] },
      );
    }
    this.registerOutputs({ jobNames: this.jobNames, schedules: this.schedules });
  }
}
