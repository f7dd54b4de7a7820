/**
 * Every backup bucket keeps object versions, so an overwritten or deleted backup (by mistake, a
 * bad job or an attacker) stays recoverable for the noncurrent-version retention.
 */
import { gcsBucketName, gcsBuckets, S3, s3Buckets } from "../../../components/storage/inspect";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "bucket-versioned",
  area: "storage",
  kind: "stack",
  description: "Every S3 and GCS bucket has object versioning enabled.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Create buckets with ReplicatedBucket (components/storage), which enables versioning; for an S3 bucket of your own add an aws.s3.BucketVersioning with status Enabled, for GCS set versioning.enabled: true.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const resources = args.resources;
    const s3 = s3Buckets(resources);
    const gcs = gcsBuckets(resources);
    if (s3.length + gcs.length === 0) args.notApplicable("no buckets in this stack");
    for (const b of s3) {
      const enabled =
        b.res.props.versioning?.enabled === true ||
        b
          .attached([S3.versioning, S3.versioningV2])
          .some((v) => v.props.versioningConfiguration?.status === "Enabled");
      if (!enabled)
        report(
          `S3 bucket ${b.name} has no versioning (no BucketVersioning with status Enabled)`,
          b.res.urn,
        );
    }
    for (const r of gcs) {
      if (r.props.versioning?.enabled !== true)
        report(`GCS bucket ${gcsBucketName(r)} has versioning disabled`, r.urn);
    }
  },
};
