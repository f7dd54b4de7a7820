/**
 * Every backup bucket has a copy in another region, so losing the site's region does not lose its
 * backups: S3 replication to a bucket in a different region (with Replication Time Control by
 * default), a GCS dual- or multi-region bucket, or a copy job to a bucket in another region/cloud.
 */
import { backupCronJobs } from "../../../components/backup/inspect";
import {
  bucketRef,
  GCS_MULTI_REGIONS,
  gcsBucketName,
  gcsBuckets,
  gcsRegions,
  replicationDestinations,
  S3,
  s3Buckets,
} from "../../../components/storage/inspect";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export const rule: DrStackRule = {
  name: "bucket-replicated-cross-region",
  area: "storage",
  kind: "stack",
  description:
    "Every bucket that is not itself a replica is replicated to a bucket in a different region (S3 replication with Replication Time Control, a GCS dual-/multi-region location, or a copy job).",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use ReplicatedBucket (components/storage) and set drstack:backup.replicaRegion to a region other than the site's. For S3 add a BucketReplicationConfig whose destination bucket has another region; for GCS use a dual-region placement (gcpReplication: dual-region) or gcpReplication: copy.",
  configSchema: {
    properties: {
      requireReplicationTime: {
        type: "boolean",
        default: true,
        description: "S3 rules must enable Replication Time Control.",
      },
    },
  },
  validateStack: (args, report) => {
    const cfg = ruleConfig<{ requireReplicationTime: boolean }>(rule, args.getConfig());
    const s3 = s3Buckets(args.resources);
    const gcs = gcsBuckets(args.resources);
    if (s3.length + gcs.length === 0) args.notApplicable("no buckets in this stack");
    const replicas = replicationDestinations(args.resources);
    const regionOf = (b: (typeof s3)[number]): string | undefined =>
      b.region ?? ((b.res as Obj).provider?.props?.region as string | undefined);
    for (const b of s3.filter((x) => !replicas.has(x.name))) {
      const source = regionOf(b);
      const rules = b
        .attached([S3.replication])
        .flatMap((r) => (r.props.rules ?? []) as Obj[])
        .filter((r) => r?.status === "Enabled");
      if (rules.length === 0) {
        report(
          `S3 bucket ${b.name} (${source ?? "provider region"}) is not replicated: no enabled replication rule`,
          b.res.urn,
        );
        continue;
      }
      const good = rules.filter((r) => {
        const dest = s3.find((x) => x.name === bucketRef(r.destination?.bucket));
        const destRegion = dest ? regionOf(dest) : undefined;
        return (
          dest !== undefined &&
          destRegion !== undefined &&
          source !== undefined &&
          destRegion !== source
        );
      });
      if (good.length === 0) {
        const dests = rules.map((r) => {
          const d = s3.find((x) => x.name === bucketRef(r.destination?.bucket));
          return `${bucketRef(r.destination?.bucket) ?? "?"} (${d ? (regionOf(d) ?? "provider region") : "not in this stack"})`;
        });
        report(
          `S3 bucket ${b.name} in ${source ?? "the provider region"} replicates only to ${dests.join(", ")}: no replica in another region`,
          b.res.urn,
        );
      } else if (
        cfg.requireReplicationTime &&
        !good.some((r) => r.destination?.replicationTime?.status === "Enabled")
      ) {
        report(
          `S3 bucket ${b.name} replicates without Replication Time Control: no bound on how late the replica is`,
          b.res.urn,
        );
      }
    }
    const copies = backupCronJobs(args.resources).filter(
      (j) => j.role.startsWith("copy-") && !j.suspended,
    );
    const copyTargets = new Set(copies.map((j) => j.env.TARGET_BUCKET));
    for (const r of gcs) {
      const name = gcsBucketName(r);
      const regions = gcsRegions(r);
      if (regions.length >= 2 || GCS_MULTI_REGIONS.includes(regions[0])) continue;
      if (copyTargets.has(name)) continue; // a replica written by a copy job
      const ok = copies.some((j) => {
        if (j.env.BUCKET !== name) return false;
        const target = gcs.find((x) => gcsBucketName(x) === j.env.TARGET_BUCKET);
        if (target) return gcsRegions(target).some((reg) => !regions.includes(reg));
        return j.env.RCLONE_CONFIG_TARGET_TYPE === "s3"; // another cloud is another region
      });
      if (!ok)
        report(
          `GCS bucket ${name} stores data only in ${regions[0]} and no copy job copies it to another region`,
          r.urn,
        );
    }
  },
};
