/**
 * A stack that takes backups also alerts when they go stale, shrink, fail or stop restoring, and
 * (with a bucket) when replication to the other region lags.
 */
import { alertNames, backupCronJobs, isBackupRole } from "../../../components/backup/inspect";
import { gcsBuckets, s3Buckets } from "../../../components/storage/inspect";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "backup-alerts-present",
  area: "monitoring",
  kind: "stack",
  description:
    "A stack with backup CronJobs has a PrometheusRule defining the backup alerts (requiredAlerts: BackupTooOld, BackupTooSmall, BackupJobFailed, RestoreVerificationFailed), plus BucketReplicationLag when it has buckets.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Deploy the site through DrSite, which adds SiteAlerts (components/monitoring) with every backup alert; a PrometheusRule of your own must define the listed alerts.",
  configSchema: {
    properties: {
      requiredAlerts: {
        type: "array",
        items: { type: "string" },
        default: ["BackupTooOld", "BackupTooSmall", "BackupJobFailed", "RestoreVerificationFailed"],
        description: "Alerts a stack with backups must define.",
      },
      bucketAlert: {
        type: "string",
        default: "BucketReplicationLag",
        description: "Alert required when the stack has buckets (empty: none).",
      },
    },
  },
  validateStack: (args, report) => {
    const cfg = ruleConfig<{ requiredAlerts: string[]; bucketAlert: string }>(
      rule,
      args.getConfig(),
    );
    const backups = backupCronJobs(args.resources).filter((j) => isBackupRole(j.role));
    if (backups.length === 0) args.notApplicable("no backup CronJobs in this stack");
    const have = alertNames(args.resources);
    const hasBuckets = s3Buckets(args.resources).length + gcsBuckets(args.resources).length > 0;
    const required = [
      ...cfg.requiredAlerts,
      ...(hasBuckets && cfg.bucketAlert ? [cfg.bucketAlert] : []),
    ];
    const missing = required.filter((a) => !have.has(a));
    if (missing.length > 0) {
      report(
        have.size === 0
          ? `backups are taken but no PrometheusRule alerts on them (missing ${missing.join(", ")})`
          : `backup alerts missing from the stack's PrometheusRules: ${missing.join(", ")}`,
        backups[0].res.urn,
      );
    }
  },
};
