/**
 * What a replicated bucket needs to know: the storage-side subset of a site's backup settings, and
 * the target a job writes to. Pure; the backup domain builds on these (it imports them, not the
 * other way round).
 */
import type { Cloud } from "../topology/model";

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
