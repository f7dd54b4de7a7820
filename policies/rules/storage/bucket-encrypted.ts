/**
 * Backup buckets are encrypted at rest with a key the operator controls: SSE-KMS for S3 (a KMS key
 * per region), and optionally customer-managed keys (CMEK) for GCS.
 */
import { gcsBucketName, gcsBuckets, S3, s3Buckets } from "../../../components/storage/inspect";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

const KMS = ["aws:kms", "aws:kms:dsse"];

export const rule: DrStackRule = {
  name: "bucket-encrypted",
  area: "storage",
  kind: "stack",
  description:
    "Every S3 bucket has default server-side encryption with a KMS key (SSE-KMS); GCS buckets use a customer-managed key when requireGcsCmek is set.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use ReplicatedBucket (components/storage), which adds SSE-KMS with a key per region; for your own S3 bucket add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and kmsMasterKeyId. For GCS CMEK set drstack:backup.kmsKeyName.",
  configSchema: {
    properties: {
      allowS3ManagedKeys: {
        type: "boolean",
        default: false,
        description: "Accept SSE-S3 (AES256) instead of SSE-KMS.",
      },
      requireGcsCmek: {
        type: "boolean",
        default: false,
        description: "Require a customer-managed KMS key on GCS buckets.",
      },
    },
  },
  validateStack: (args, report) => {
    const cfg = ruleConfig<{ allowS3ManagedKeys: boolean; requireGcsCmek: boolean }>(
      rule,
      args.getConfig(),
    );
    const s3 = s3Buckets(args.resources);
    const gcs = gcsBuckets(args.resources);
    if (s3.length + gcs.length === 0) args.notApplicable("no buckets in this stack");
    const accepted = cfg.allowS3ManagedKeys ? [...KMS, "AES256"] : KMS;
    for (const b of s3) {
      const rules = [
        ...(b.res.props.serverSideEncryptionConfiguration?.rule
          ? [b.res.props.serverSideEncryptionConfiguration.rule]
          : []),
        ...b
          .attached([S3.sse, S3.sseV2])
          .flatMap((r) => (r.props.rules ?? []) as Record<string, any>[]), // eslint-disable-line @typescript-eslint/no-explicit-any
      ];
      const byDefault = rules.map((r) => r?.applyServerSideEncryptionByDefault).filter(Boolean);
      if (byDefault.length === 0)
        report(`S3 bucket ${b.name} has no default encryption`, b.res.urn);
      else if (!byDefault.some((d) => accepted.includes(d.sseAlgorithm)))
        report(
          `S3 bucket ${b.name} encrypts with ${byDefault.map((d) => d.sseAlgorithm).join(", ")}; use ${accepted.join(" or ")}`,
          b.res.urn,
        );
    }
    if (cfg.requireGcsCmek) {
      for (const r of gcs)
        if (!r.props.encryption?.defaultKmsKeyName)
          report(`GCS bucket ${gcsBucketName(r)} has no customer-managed encryption key`, r.urn);
    }
  },
};
