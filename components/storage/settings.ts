/**
 * What a replicated bucket needs to know: the storage-side subset of a site's backup settings, and
 * the target a job writes to. Pure; the backup domain builds on these (it imports them, not the
 * other way round).
 */
import type { Problems } from "../topology/errors";
import type { Cloud } from "../topology/model";
import type { Shape } from "../topology/shape";

export type GcpReplication = "dual-region" | "copy";

export interface CrossCloudCopy {
  /** The other cloud's storage: `s3` (AWS) or `gcs` (Google). */
  readonly cloud: "aws" | "gcp";
  /** Bucket name in the other cloud (created by the other cloud's stack or by hand). */
  readonly bucket: string;
  /** Region of that bucket (S3 needs it). Default: none (GCS does not). */
  readonly region?: string;
}

/** The bucket settings ReplicatedBucket reads (a subset of `drstack:backup`, see docs/backups.md). */
export interface BucketSettings {
  /** Name of the backup bucket (the replica is `<name>-replica`). Default `<network>-<site>-backups`. */
  readonly bucketName?: string;
  /** Days backups are kept (object expiry, noncurrent versions). */
  readonly retentionDays: number;
  /** Days a replaced or deleted object version stays recoverable. */
  readonly noncurrentDays: number;
  /** Region of the replica bucket. */
  readonly replicaRegion: string;
  /** GCP: project of the buckets. Default: the provider's project. */
  readonly gcpProject?: string;
  /** GCP: `dual-region` (turbo replication) or `copy` (second bucket + copy job). */
  readonly gcpReplication: GcpReplication;
  /** Customer-managed key: GCP KMS key name (CMEK). Default: none (Google-managed keys). */
  readonly kmsKeyName?: string;
  /** Optional copy to the other cloud. Default: none. */
  readonly crossCloud?: CrossCloudCopy;
  /** Object Lock / soft delete, delete-marker replication, a separate replica account. */
  readonly immutability: ImmutabilitySettings;
}

/** Where a job writes: one bucket of one cloud. */
export interface StorageTarget<T = string> {
  readonly cloud: Cloud;
  readonly bucket: T;
  readonly region: string;
  /** AWS: KMS key ARN for SSE-KMS uploads. */
  readonly kmsKeyArn?: T;
}

/** GCP multi-region a region belongs to (configurable dual-regions stay inside one). */
export function gcpContinent(region: string): string | undefined {
  if (region.startsWith("us-") || region.startsWith("northamerica-")) return "US";
  if (region.startsWith("europe-")) return "EU";
  if (region.startsWith("asia-")) return "ASIA";
  return undefined;
}

/**
 * Immutability of the backup buckets (`drstack:backup.immutability`): what stops a stolen job
 * credential or a ransomware run from deleting the backups and their replica.
 */
export interface ImmutabilitySettings {
  /**
   * S3 Object Lock default retention mode on the bucket and its replica: `compliance` (nobody,
   * root included, can shorten it), `governance` (only principals with
   * `s3:BypassGovernanceRetention` can), or `off`. Default `governance`. GCS: any mode but `off`
   * keeps the soft-delete window below (pgBackRest rewrites `backup.info` on every backup, which a
   * GCS bucket retention policy forbids, so GCS repositories are protected by soft delete).
   */
  readonly mode: "governance" | "compliance" | "off";
  /** Days every object version is locked (S3) or stays restorable after deletion (GCS, <= 90). Default: `retentionDays` (GCS: at most 90). */
  readonly days: number;
  /** Replicate delete markers to the replica (S3). Default false: a delete in the source never reaches the copy. */
  readonly replicateDeletes: boolean;
  /** AWS: the replica bucket and its key live in this other account (created through `roleArn`). Default: the site's account. */
  readonly replicaAccount?: { readonly accountId: string; readonly roleArn: string };
  /** GCP (copy mode): the replica bucket lives in this other project. Default: the site's project. */
  readonly replicaProject?: string;
}

/** GCS keeps soft-deleted objects at most 90 days. */
export const GCS_MAX_SOFT_DELETE_DAYS = 90;
/** Shortest lock/soft-delete window the policy pack accepts (a week to notice an attack). */
export const MIN_IMMUTABLE_DAYS = 7;

export const IMMUTABILITY_SHAPE: Shape = {
  kind: "object",
  fields: {
    mode: { shape: { kind: "string", enum: ["governance", "compliance", "off"] } },
    days: { shape: { kind: "integer", min: 1, max: 36500 } },
    replicateDeletes: { shape: { kind: "boolean" } },
    replicaAccount: {
      shape: {
        kind: "object",
        fields: {
          accountId: {
            shape: { kind: "string", pattern: /^\d{12}$/, hint: "use a 12-digit AWS account id" },
            required: true,
          },
          roleArn: {
            shape: {
              kind: "string",
              pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/,
              hint: "use the ARN of a role in the replica account, e.g. arn:aws:iam::210987654321:role/drstack-replica",
            },
            required: true,
          },
        },
      },
    },
    replicaProject: {
      shape: {
        kind: "string",
        pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
        hint: "use a GCP project id",
      },
    },
  },
};

type RawImmutability = Partial<ImmutabilitySettings>;

/**
 * `drstack:backup.immutability` with defaults applied, adding problems for what depends on the
 * site's cloud (`path` is the field path of the key).
 */
export function immutabilitySettings(
  raw: unknown,
  cloud: Cloud,
  retentionDays: number,
  path: string,
  problems: Problems,
): ImmutabilitySettings {
  const r = (raw ?? {}) as RawImmutability;
  const days =
    r.days ?? (cloud === "gcp" ? Math.min(retentionDays, GCS_MAX_SOFT_DELETE_DAYS) : retentionDays);
  if (cloud === "gcp" && days > GCS_MAX_SOFT_DELETE_DAYS)
    problems.add(
      `${path}.days`,
      `GCS keeps soft-deleted objects at most ${GCS_MAX_SOFT_DELETE_DAYS} days, got ${days}`,
      `use at most ${GCS_MAX_SOFT_DELETE_DAYS}`,
    );
  if (cloud === "gcp" && r.replicaAccount)
    problems.add(`${path}.replicaAccount`, "is for S3 (AWS sites)", "use replicaProject on GCP");
  if (cloud === "aws" && r.replicaProject)
    problems.add(`${path}.replicaProject`, "is for GCS (GCP sites)", "use replicaAccount on AWS");
  return {
    mode: r.mode ?? "governance",
    days,
    replicateDeletes: r.replicateDeletes ?? false,
    ...(r.replicaAccount ? { replicaAccount: r.replicaAccount } : {}),
    ...(r.replicaProject ? { replicaProject: r.replicaProject } : {}),
  };
}
