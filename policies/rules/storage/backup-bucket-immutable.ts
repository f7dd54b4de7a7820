/**
 * Backups survive a stolen credential: every S3 bucket has Object Lock with a default retention
 * of at least `minDays`, every GCS bucket keeps deleted or replaced objects restorable (soft
 * delete or a retention policy) that long, and no S3 replication rule carries delete markers to
 * the replica (a delete in the source must never reach the copy).
 */
import { gcsBucketName, gcsBuckets, S3, s3Buckets } from "../../../components/storage/inspect";
import { MIN_IMMUTABLE_DAYS } from "../../../components/storage/settings";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

const DAY = 86_400;

export const rule: DrStackRule = {
  name: "backup-bucket-immutable",
  area: "storage",
  kind: "stack",
  description:
    "Every S3 bucket has Object Lock with a default retention of at least minDays; every GCS bucket keeps deleted objects restorable (soft delete or retention policy) at least minDays; S3 replication does not replicate delete markers.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use ReplicatedBucket (components/storage) with drstack:backup.immutability.mode governance or compliance (the default) and days >= minDays; keep replicateDeletes false. For your own S3 bucket set objectLockEnabled: true and add an aws.s3.BucketObjectLockConfiguration with rule.defaultRetention; for GCS set softDeletePolicy.retentionDurationSeconds.",
  configSchema: {
    properties: {
      minDays: {
        type: "integer",
        minimum: 1,
        default: MIN_IMMUTABLE_DAYS,
        description: "Shortest lock or soft-delete window accepted, in days.",
      },
    },
  },
  validateStack: (args, report) => {
    const { minDays } = ruleConfig<{ minDays: number }>(rule, args.getConfig());
    const s3 = s3Buckets(args.resources);
    const gcs = gcsBuckets(args.resources);
    if (s3.length + gcs.length === 0) args.notApplicable("no buckets in this stack");
    for (const b of s3) {
      if (b.res.props.objectLockEnabled !== true) {
        report(`S3 bucket ${b.name} was created without Object Lock`, b.res.urn);
        continue;
      }
      const retention = b
        .attached([S3.objectLock, S3.objectLockV2])
        .map((r) => r.props.rule?.defaultRetention)
        .find(Boolean);
      const days = retention ? Number(retention.days ?? 0) + 365 * Number(retention.years ?? 0) : 0;
      if (!retention)
        report(`S3 bucket ${b.name} has Object Lock but no default retention`, b.res.urn);
      else if (days < minDays)
        report(
          `S3 bucket ${b.name} locks objects for ${days} days; at least ${minDays} required`,
          b.res.urn,
        );
    }
    for (const r of args.resources.filter((x) => x.type === S3.replication)) {
      for (const rr of (r.props.rules ?? []) as {
        id?: string;
        deleteMarkerReplication?: { status?: string };
      }[])
        if (rr.deleteMarkerReplication?.status === "Enabled")
          report(
            `S3 replication rule ${rr.id ?? "(unnamed)"} of ${String(r.props.bucket)} replicates delete markers: a delete in the source reaches the replica`,
            r.urn,
          );
    }
    for (const r of gcs) {
      const soft = Number(r.props.softDeletePolicy?.retentionDurationSeconds ?? 0);
      const retained = Number(r.props.retentionPolicy?.retentionPeriod ?? 0);
      const days = Math.max(soft, retained) / DAY;
      if (days < minDays)
        report(
          `GCS bucket ${gcsBucketName(r)} keeps deleted objects ${days} days; at least ${minDays} required`,
          r.urn,
        );
    }
  },
};
