/**
 * The `drstack:backup` stack setting (a structured value): where backups go, how long they are
 * kept, how often they run and what counts as "suspiciously small". Pure: shape for the config
 * checker, and `backupSettings` which applies the documented defaults and checks what the shape
 * cannot (replica region by cloud, cron syntax).
 */
import { Problems } from "../topology/errors";
import type { Site } from "../topology/model";
import type { Shape } from "../topology/shape";
import { parseCron } from "../util/cron";
import {
  type CrossCloudCopy,
  gcpContinent,
  type GcpReplication,
  IMMUTABILITY_SHAPE,
  type ImmutabilitySettings,
  immutabilitySettings,
} from "../storage/settings";

export type { CrossCloudCopy, GcpReplication };
export { gcpContinent };

export const BACKUP_CONFIG_KEY = "backup";

/** Every schedule a site runs; cron in UTC, 5 fields or a macro (`@daily`). */
export interface BackupSchedules {
  /** pgBackRest full backup. Default `0 2 * * 0` (weekly, Sunday 02:00). */
  readonly full: string;
  /** pgBackRest differential backup. Default `0 2 * * 1-6` (daily except Sunday). */
  readonly diff: string;
  /** pgBackRest incremental backup. Default `30 * * * *` (hourly). */
  readonly incr: string;
  /** Redis RDB snapshot upload. Default `15 * * * *` (hourly). */
  readonly redis: string;
  /** Validator key and config backup (encrypted client-side). Default `45 3 * * *` (daily). */
  readonly keys: string;
  /** Restore verification. Default `0 6 * * *` (daily). */
  readonly verify: string;
  /** Second-region (GCP copy mode) and cross-cloud copies. Default `*\/15 * * * *`. */
  readonly copy: string;
}

/** Minimum artifact sizes in bytes below which a job refuses to report success. */
export interface MinimumSizes {
  /** Default 1 MiB: an empty PostgreSQL cluster's full backup is larger. */
  readonly full: number;
  /** Default 1 byte (a differential may be small, never empty). */
  readonly diff: number;
  /** Default 1 byte. */
  readonly incr: number;
  /** Default 256 bytes: an empty RDB file is ~90 bytes; a real dataset's is larger. */
  readonly redis: number;
  /** Default 64 bytes of key material (plaintext, before encryption): a validator key file is larger. */
  readonly keys: number;
}

export interface BackupSettings {
  /** Name of the backup bucket (the replica is `<name>-replica`). Default `<network>-<site>-backups`. */
  readonly bucketName?: string;
  /** Days backups are kept (object expiry, noncurrent versions). Default 35 (>= the 30-day rehydration window). */
  readonly retentionDays: number;
  /** Days a replaced or deleted object version stays recoverable. Default `retentionDays`. */
  readonly noncurrentDays: number;
  /** Region of the replica bucket. Default: the site region's pair (see `PAIRED_REGIONS`). */
  readonly replicaRegion: string;
  readonly schedules: BackupSchedules;
  readonly minBytes: MinimumSizes;
  /** Where jobs push their metrics. Default `http://drstack-pushgateway:9091` (the site's own, with basic auth). */
  readonly pushgateway: string;
  /**
   * The single-image variant: one image with every tool (bash, curl, rclone, gpg, pgbackrest,
   * redis-tools, python3), which you build from images/backup-tools/Containerfile and push to
   * your registry; nobody publishes it. Default: none: each job runs on a published image of the
   * catalogue (components/shared/images.ts). Needed only by the OpenPGP key job (`keyRecipient`).
   */
  readonly image?: string;
  /** GCP: project of the buckets. Default: the provider's project. */
  readonly gcpProject?: string;
  /** GCP: `dual-region` (turbo replication, default) or `copy` (second bucket + copy job). */
  readonly gcpReplication: GcpReplication;
  /** Customer-managed key: GCP KMS key name (CMEK). Default: none (Google-managed keys). */
  readonly kmsKeyName?: string;
  /**
   * Custodial key backup (the default scheme): the X25519 recovery public key the job seals the
   * validator keys to, and how its private key is shared among custodians (`drstack keys
   * recovery-key` prints all three). Default: none.
   */
  readonly keyRecovery?: {
    readonly publicKey: string;
    readonly shares: number;
    readonly threshold: number;
  };
  /** ASCII-armored OpenPGP public key the key backup is encrypted to (optional scheme; needs `image`). Default: none. */
  readonly keyRecipient?: string;
  /** Annotations on the backup ServiceAccount (IRSA role ARN, GKE workload identity). Default: none. */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  /** Optional copy to the other cloud. Default: none. */
  readonly crossCloud?: CrossCloudCopy;
  /** Object Lock / soft delete and replica isolation (see `ImmutabilitySettings`). Default: governance lock for `retentionDays`, deletes not replicated. */
  readonly immutability: ImmutabilitySettings;
}

export const DEFAULT_SCHEDULES: BackupSchedules = {
  full: "0 2 * * 0",
  diff: "0 2 * * 1-6",
  incr: "30 * * * *",
  redis: "15 * * * *",
  keys: "45 3 * * *",
  verify: "0 6 * * *",
  copy: "*/15 * * * *",
};

export const DEFAULT_MIN_BYTES: MinimumSizes = {
  full: 1024 * 1024,
  diff: 1,
  incr: 1,
  redis: 256,
  keys: 64,
};
export const DEFAULT_RETENTION_DAYS = 35;
/** The site's own Pushgateway (SiteMonitoring), in the jobs' namespace. */
export const DEFAULT_PUSHGATEWAY = "http://drstack-pushgateway:9091";

/** Default replica region by site region: another region on the same continent (data residency). */
export const PAIRED_REGIONS: Readonly<Record<string, string>> = {
  "us-east-1": "us-west-2",
  "us-east-2": "us-west-2",
  "us-west-1": "us-east-1",
  "us-west-2": "us-east-1",
  "eu-west-1": "eu-central-1",
  "eu-central-1": "eu-west-1",
  "eu-west-2": "eu-west-1",
  "ap-southeast-1": "ap-southeast-2",
  "ap-southeast-2": "ap-southeast-1",
  "ap-northeast-1": "ap-northeast-3",
  "europe-west1": "europe-west4",
  "europe-west4": "europe-west1",
  "europe-north1": "europe-west4",
  "us-central1": "us-east1",
  "us-east1": "us-central1",
  "us-east4": "us-central1",
  "asia-southeast1": "asia-east1",
  "asia-east1": "asia-southeast1",
  "asia-northeast1": "asia-northeast2",
};

// Cron syntax is checked by checkBackupConfig (parseCron), so every bad schedule is reported at once.
const CRON: Shape = {
  kind: "string",
  pattern: /\S/,
  hint: 'use 5 cron fields, e.g. "0 2 * * 0", or a macro such as "@daily"',
};
const REGION: Shape = {
  kind: "string",
  pattern: /^[a-z]+(-[a-z]+)+-?\d+$/,
  hint: "use a region name such as us-west-2 or europe-west4",
};
const BYTES: Shape = { kind: "integer", min: 1 };

export const BACKUP_SHAPE: Shape = {
  kind: "object",
  fields: {
    bucketName: {
      shape: {
        kind: "string",
        pattern: /^[a-z0-9][a-z0-9-]{1,53}[a-z0-9]$/,
        hint: "use 3-55 lowercase letters, digits and dashes",
      },
    },
    retentionDays: { shape: { kind: "integer", min: 1, max: 3650 } },
    noncurrentDays: { shape: { kind: "integer", min: 1, max: 3650 } },
    replicaRegion: { shape: REGION },
    schedules: {
      shape: {
        kind: "object",
        fields: Object.fromEntries(Object.keys(DEFAULT_SCHEDULES).map((k) => [k, { shape: CRON }])),
      },
    },
    minBytes: {
      shape: {
        kind: "object",
        fields: Object.fromEntries(
          Object.keys(DEFAULT_MIN_BYTES).map((k) => [k, { shape: BYTES }]),
        ),
      },
    },
    pushgateway: {
      shape: {
        kind: "string",
        pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/,
        hint: "use a URL such as http://pushgateway.monitoring.svc:9091",
      },
    },
    image: { shape: { kind: "string", pattern: /^\S+$/ } },
    gcpProject: {
      shape: {
        kind: "string",
        pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
        hint: "use a GCP project id",
      },
    },
    gcpReplication: { shape: { kind: "string", enum: ["dual-region", "copy"] } },
    kmsKeyName: {
      shape: {
        kind: "string",
        pattern: /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
        hint: "use projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>",
      },
    },
    keyRecovery: {
      shape: {
        kind: "object",
        fields: {
          publicKey: {
            shape: {
              kind: "string",
              pattern: /^[0-9a-f]{64}$/,
              hint: "use the 64 hex digits `drstack keys recovery-key` prints",
            },
            required: true,
          },
          shares: { shape: { kind: "integer", min: 2, max: 255 }, required: true },
          threshold: { shape: { kind: "integer", min: 2, max: 255 }, required: true },
        },
      },
    },
    keyRecipient: {
      shape: {
        kind: "string",
        pattern: /-----BEGIN PGP PUBLIC KEY BLOCK-----/,
        hint: "use an ASCII-armored OpenPGP public key (gpg --armor --export <id>)",
      },
    },
    serviceAccountAnnotations: { shape: { kind: "map", values: { kind: "string" } } },
    immutability: { shape: IMMUTABILITY_SHAPE },
    crossCloud: {
      shape: {
        kind: "object",
        fields: {
          cloud: { shape: { kind: "string", enum: ["aws", "gcp"] }, required: true },
          bucket: {
            shape: {
              kind: "string",
              pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
              hint: "use a bucket name",
            },
            required: true,
          },
          region: { shape: REGION },
        },
      },
    },
  },
};

/**
 * Checks of `drstack:backup` that need no site (after the shape check): cron syntax, an S3
 * cross-cloud target's region. Registered as the key's `check` in SITE_CONFIG_KEYS.
 */
export function checkBackupConfig(value: unknown, path: string, problems: Problems): void {
  const r = (value ?? {}) as Raw;
  for (const [k, v] of Object.entries(r.schedules ?? {})) {
    const parsed = parseCron(v);
    if (!parsed.ok)
      problems.add(
        `${path}.schedules.${k}`,
        `${JSON.stringify(v)} is not a valid cron schedule: ${parsed.error}`,
        'use 5 cron fields, e.g. "0 2 * * 0"',
      );
  }
  if (r.crossCloud?.cloud === "aws" && !r.crossCloud.region) {
    problems.add(
      `${path}.crossCloud.region`,
      "is required for an S3 bucket",
      "add region: <the bucket's region>",
    );
  }
}

type Raw = Partial<Omit<BackupSettings, "schedules" | "minBytes">> & {
  schedules?: Partial<BackupSchedules>;
  minBytes?: Partial<MinimumSizes>;
};

/**
 * The site's backup settings with defaults applied. `raw` is the shape-checked and
 * `checkBackupConfig`-checked value of `drstack:backup` (or undefined). Adds problems for what
 * depends on the site (replica region, GCP dual-region continent, cross-cloud target's cloud).
 */
export function backupSettings(site: Site, raw: unknown, problems: Problems): BackupSettings {
  const r = (raw ?? {}) as Raw;
  const key = `config.drstack:${BACKUP_CONFIG_KEY}`;
  const schedules = { ...DEFAULT_SCHEDULES, ...r.schedules };
  const replicaRegion = r.replicaRegion ?? PAIRED_REGIONS[site.region];
  // Only a site that runs backups has a bucket to replicate.
  const hasBucket = site.services.includes("backup");
  if (hasBucket && !replicaRegion) {
    problems.add(
      `${key}.replicaRegion`,
      `no default replica region for ${site.cloud} region ${site.region}`,
      `set replicaRegion to another ${site.cloud} region`,
    );
  } else if (hasBucket && replicaRegion === site.region) {
    problems.add(
      `${key}.replicaRegion`,
      `must differ from the site's region ${site.region}: a replica in the same region does not survive its loss`,
      `use another region, e.g. ${PAIRED_REGIONS[site.region] ?? "a neighbouring region"}`,
    );
  }
  const gcpReplication = r.gcpReplication ?? "dual-region";
  if (
    hasBucket &&
    site.cloud === "gcp" &&
    replicaRegion &&
    gcpReplication === "dual-region" &&
    gcpContinent(site.region) !== gcpContinent(replicaRegion)
  ) {
    problems.add(
      `${key}.replicaRegion`,
      `a dual-region bucket needs both regions on one continent; ${site.region} and ${replicaRegion} are not`,
      `pick a replica region near ${site.region}, or set gcpReplication: copy`,
    );
  }
  if (r.crossCloud && r.crossCloud.cloud === site.cloud) {
    problems.add(
      `${key}.crossCloud.cloud`,
      `must be the other cloud than the site's (${site.cloud})`,
      `use ${site.cloud === "aws" ? "gcp" : "aws"}`,
    );
  }
  if (r.keyRecipient && !r.image && site.services.includes("validators")) {
    problems.add(
      `${key}.image`,
      "the OpenPGP key backup (keyRecipient) needs gpg, which no published image of the catalogue carries",
      "build images/backup-tools/Containerfile, push it and set image to its reference, or drop keyRecipient and use the custodial key backup (docs/keys.md)",
    );
  }
  const retentionDays = r.retentionDays ?? DEFAULT_RETENTION_DAYS;
  return {
    bucketName: r.bucketName,
    retentionDays,
    noncurrentDays: r.noncurrentDays ?? retentionDays,
    replicaRegion: replicaRegion ?? site.region,
    schedules,
    minBytes: { ...DEFAULT_MIN_BYTES, ...r.minBytes },
    pushgateway: r.pushgateway ?? DEFAULT_PUSHGATEWAY,
    image: r.image,
    gcpProject: r.gcpProject,
    gcpReplication,
    kmsKeyName: r.kmsKeyName,
    keyRecovery: r.keyRecovery,
    keyRecipient: r.keyRecipient,
    serviceAccountAnnotations: r.serviceAccountAnnotations ?? {},
    crossCloud: r.crossCloud,
    immutability: immutabilitySettings(
      r.immutability,
      site.cloud,
      retentionDays,
      `${key}.immutability`,
      problems,
    ),
  };
}
