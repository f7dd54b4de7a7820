/**
 * Pure parts of the replicated backup bucket: names, IAM and bucket policy documents, lifecycle
 * and replication rules for S3, bucket settings for GCS. The component turns them into resources;
 * the policies read the same shapes back from the recorded inputs.
 */
import type { Site } from "../topology/model";
import { GCS_MAX_SOFT_DELETE_DAYS, type ImmutabilitySettings } from "./settings";

/** Prefixes backups are written under; `pgbackrest/` is expired by pgBackRest's own retention. */
export const SNAPSHOT_PREFIXES = ["redis/", "keys/"] as const;
export const RTC_MINUTES = 15;
export const DAY_SECONDS = 86_400;
export { GCS_MAX_SOFT_DELETE_DAYS };

/**
 * Bucket names: `<network>-<site>-backups` (what the PostgreSQL component assumes by default) and
 * `<that>-replica`, lowercased, at most 63 characters.
 */
export function bucketNames(
  networkName: string,
  site: Site,
  override?: string,
): { primary: string; replica: string } {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/-+/g, "-")
      .replace(/^-|-$/g, "");
  const base =
    override ?? clean(`${networkName}-${site.name}-backups`).slice(0, 55).replace(/-$/, "");
  return { primary: base, replica: `${base}-replica`.slice(0, 63) };
}

export function s3Arn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

/** Bucket policy: deny every request that does not use TLS. */
export function tlsOnlyBucketPolicy(bucket: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [s3Arn(bucket), `${s3Arn(bucket)}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

export const S3_ASSUME_ROLE_POLICY = {
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" },
  ],
};

/**
 * The replication role's permissions, and nothing more: read versions from the source, replicate
 * into the replica, decrypt with the source key and encrypt with the replica key (each only via S3
 * in its own region).
 */
export function replicationRolePolicy<K>(p: {
  source: string;
  replica: string;
  sourceRegion: string;
  replicaRegion: string;
  sourceKeyArn: K;
  replicaKeyArn: K;
  /** Delete markers are replicated (`s3:ReplicateDelete`). Default false. */
  replicateDeletes?: boolean;
  /** The replica is in another account: the role may hand object ownership to it. */
  crossAccount?: boolean;
}): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadReplicationConfig",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: [s3Arn(p.source)],
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: [
          "s3:GetObjectVersionForReplication",
          "s3:GetObjectVersionAcl",
          "s3:GetObjectVersionTagging",
        ],
        Resource: [`${s3Arn(p.source)}/*`],
      },
      {
        Sid: "WriteReplica",
        Effect: "Allow",
        Action: [
          "s3:ReplicateObject",
          ...(p.replicateDeletes ? ["s3:ReplicateDelete"] : []),
          "s3:ReplicateTags",
          ...(p.crossAccount ? ["s3:ObjectOwnerOverrideToBucketOwner"] : []),
        ],
        Resource: [`${s3Arn(p.replica)}/*`],
      },
      {
        Sid: "DecryptSource",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [p.sourceKeyArn],
        Condition: { StringLike: { "kms:ViaService": `s3.${p.sourceRegion}.amazonaws.com` } },
      },
      {
        Sid: "EncryptReplica",
        Effect: "Allow",
        Action: ["kms:Encrypt"],
        Resource: [p.replicaKeyArn],
        Condition: { StringLike: { "kms:ViaService": `s3.${p.replicaRegion}.amazonaws.com` } },
      },
    ],
  };
}

/** S3 lifecycle: snapshots expire after the retention, old versions after `noncurrentDays`. */
export function s3LifecycleRules(
  retentionDays: number,
  noncurrentDays: number,
): Record<string, unknown>[] {
  return [
    ...SNAPSHOT_PREFIXES.map((prefix) => ({
      id: `expire-${prefix.replace("/", "")}`,
      status: "Enabled",
      filter: { prefix },
      expiration: { days: retentionDays },
    })),
    {
      id: "noncurrent-versions",
      status: "Enabled",
      filter: { prefix: "" },
      noncurrentVersionExpiration: { noncurrentDays },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      expiration: { expiredObjectDeleteMarker: true },
    },
  ];
}

/**
 * One replication rule: everything, KMS-encrypted objects included, RTC 15 min with metrics.
 * Delete markers are not replicated unless asked (a delete in the source never reaches the copy);
 * a replica in another account owns what it receives.
 */
export function s3ReplicationRule<K>(
  replica: string,
  replicaRegion: string,
  replicaKeyArn: K,
  options: { replicateDeletes?: boolean; replicaAccountId?: string } = {},
): Record<string, unknown> {
  return {
    id: `to-${replicaRegion}`,
    status: "Enabled",
    priority: 1,
    filter: { prefix: "" },
    deleteMarkerReplication: { status: options.replicateDeletes ? "Enabled" : "Disabled" },
    sourceSelectionCriteria: {
      sseKmsEncryptedObjects: { status: "Enabled" },
      replicaModifications: { status: "Enabled" },
    },
    destination: {
      bucket: s3Arn(replica),
      storageClass: "STANDARD",
      ...(options.replicaAccountId
        ? { account: options.replicaAccountId, accessControlTranslation: { owner: "Destination" } }
        : {}),
      encryptionConfiguration: { replicaKmsKeyId: replicaKeyArn },
      replicationTime: { status: "Enabled", time: { minutes: RTC_MINUTES } },
      metrics: { status: "Enabled", eventThreshold: { minutes: RTC_MINUTES } },
    },
  };
}

/** GCS lifecycle: snapshots deleted after the retention, noncurrent versions after `noncurrentDays`. */
export function gcsLifecycleRules(
  retentionDays: number,
  noncurrentDays: number,
): Record<string, unknown>[] {
  return [
    {
      action: { type: "Delete" },
      condition: { age: retentionDays, matchesPrefixes: [...SNAPSHOT_PREFIXES], withState: "LIVE" },
    },
    {
      action: { type: "Delete" },
      condition: { daysSinceNoncurrentTime: noncurrentDays, withState: "ARCHIVED" },
    },
  ];
}

/**
 * S3 Object Lock default retention (an `aws.s3.BucketObjectLockConfiguration`'s `rule`), or
 * undefined when immutability is off. Every new object version is locked for `days`.
 */
export function s3ObjectLockRule(
  im: Pick<ImmutabilitySettings, "mode" | "days">,
): Record<string, unknown> | undefined {
  if (im.mode === "off") return undefined;
  return {
    defaultRetention: {
      mode: im.mode === "compliance" ? "COMPLIANCE" : "GOVERNANCE",
      days: im.days,
    },
  };
}

/**
 * GCS settings every drstack backup bucket has (the location and replication come on top).
 * `softDeleteDays`: how long deleted or replaced objects stay restorable (default: the
 * retention, at most 90 days).
 */
export function gcsBucketSettings(
  retentionDays: number,
  noncurrentDays: number,
  kmsKeyName?: string,
  softDeleteDays: number = retentionDays,
): Record<string, unknown> {
  return {
    uniformBucketLevelAccess: true,
    publicAccessPrevention: "enforced",
    versioning: { enabled: true },
    // A bucket retention policy cannot be combined with versioning in GCS, and it forbids
    // replacing an object younger than the period, which pgBackRest does to backup.info on every
    // backup; soft delete plus noncurrent-version lifecycle keep deleted or replaced backups
    // recoverable instead, and only a principal that may update the bucket can shorten it.
    softDeletePolicy: {
      retentionDurationSeconds: Math.min(softDeleteDays, GCS_MAX_SOFT_DELETE_DAYS) * DAY_SECONDS,
    },
    lifecycleRules: gcsLifecycleRules(retentionDays, noncurrentDays),
    ...(kmsKeyName ? { encryption: { defaultKmsKeyName: kmsKeyName } } : {}),
    forceDestroy: false,
  };
}

/** A policy document with more statements appended. */
export function withStatements(
  policy: Record<string, unknown>,
  statements: readonly Record<string, unknown>[],
): Record<string, unknown> {
  return { ...policy, Statement: [...(policy.Statement as unknown[]), ...statements] };
}

/**
 * Statements of a replica bucket in another account: the source's replication role may write
 * replicas (and hand their ownership to this account), nothing else; it can never delete.
 */
export function replicaBucketStatements(
  replica: string,
  replicationRoleArn: string,
): Record<string, unknown>[] {
  return [
    {
      Sid: "AcceptReplicas",
      Effect: "Allow",
      Principal: { AWS: replicationRoleArn },
      Action: ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
      Resource: [`${s3Arn(replica)}/*`],
    },
    {
      Sid: "ReadVersioning",
      Effect: "Allow",
      Principal: { AWS: replicationRoleArn },
      Action: ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:List*"],
      Resource: [s3Arn(replica)],
    },
  ];
}

/**
 * The key policy of a replica key in another account: that account administers it; the source's
 * replication role may only encrypt with it, only through S3 in the replica's region. The site's
 * account cannot decrypt or schedule its deletion.
 */
export function replicaKeyPolicy(
  accountId: string,
  replicationRoleArn: string,
  region: string,
): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReplicaAccountAdministers",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "SourceReplicationEncrypts",
        Effect: "Allow",
        Principal: { AWS: replicationRoleArn },
        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
        Resource: "*",
        Condition: { StringLike: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
      },
    ],
  };
}
