/** Backups are never readable by the public: public access blocked, no public ACL or policy grant. */
import {
  gcsBucketName,
  gcsBuckets,
  policyAllowsPublic,
  S3,
  s3Buckets,
} from "../../../components/storage/inspect";
import type { DrStackRule } from "../../lib/rule";

const BLOCK_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
];
const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];

export const rule: DrStackRule = {
  name: "bucket-not-public",
  area: "storage",
  kind: "stack",
  description:
    "Every S3 bucket has a public access block with all four flags set and no public ACL or policy grant; every GCS bucket enforces public access prevention and uniform bucket-level access.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use ReplicatedBucket (components/storage). For your own S3 bucket add a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true; for GCS set publicAccessPrevention: enforced and uniformBucketLevelAccess: true.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const s3 = s3Buckets(args.resources);
    const gcs = gcsBuckets(args.resources);
    if (s3.length + gcs.length === 0) args.notApplicable("no buckets in this stack");
    for (const b of s3) {
      const blocks = b.attached([S3.publicAccessBlock]);
      const full = blocks.some((x) => BLOCK_FLAGS.every((f) => x.props[f] === true));
      if (!full) {
        const missing =
          blocks.length === 0
            ? "no BucketPublicAccessBlock"
            : `flags not all true (${BLOCK_FLAGS.filter((f) => !blocks.some((x) => x.props[f] === true)).join(", ")})`;
        report(`S3 bucket ${b.name} may become public: ${missing}`, b.res.urn);
      }
      if (PUBLIC_ACLS.includes(String(b.res.props.acl)))
        report(`S3 bucket ${b.name} has the public ACL ${b.res.props.acl}`, b.res.urn);
      for (const p of [b.res.props.policy, ...b.attached([S3.policy]).map((x) => x.props.policy)]) {
        if (p !== undefined && policyAllowsPublic(p))
          report(
            `S3 bucket ${b.name} has a policy statement allowing Principal "*" without a condition`,
            b.res.urn,
          );
      }
    }
    for (const r of gcs) {
      if (r.props.publicAccessPrevention !== "enforced")
        report(`GCS bucket ${gcsBucketName(r)} does not enforce public access prevention`, r.urn);
      if (r.props.uniformBucketLevelAccess !== true)
        report(
          `GCS bucket ${gcsBucketName(r)} allows per-object ACLs (uniformBucketLevelAccess is not true)`,
          r.urn,
        );
    }
  },
};
