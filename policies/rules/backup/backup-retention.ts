/**
 * Backups are kept at least as long as the ledger's rehydration window (default 30 days): no
 * lifecycle rule expires objects or old versions sooner, and pgBackRest keeps that many days.
 */
import { backupCronJobs } from "../../../components/backup/inspect";
import { gcsBucketName, gcsBuckets, S3, s3Buckets } from "../../../components/storage/inspect";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export const rule: DrStackRule = {
  name: "backup-retention",
  area: "backup",
  kind: "stack",
  description:
    "No bucket lifecycle rule deletes objects or noncurrent versions before minDays (default 30), and pgBackRest's time-based full-backup retention is at least minDays.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set drstack:backup.retentionDays (and noncurrentDays) to at least 30 in the stack file; lifecycle rules and pgBackRest retention follow it.",
  configSchema: {
    properties: {
      minDays: {
        type: "integer",
        minimum: 1,
        default: 30,
        description: "Days backups must be kept.",
      },
    },
  },
  validateStack: (args, report) => {
    const { minDays } = ruleConfig<{ minDays: number }>(rule, args.getConfig());
    const s3 = s3Buckets(args.resources);
    const gcs = gcsBuckets(args.resources);
    const jobs = backupCronJobs(args.resources);
    if (s3.length + gcs.length + jobs.length === 0)
      args.notApplicable("no buckets or backup jobs in this stack");
    const short = (days: unknown) => typeof days === "number" && days < minDays;
    for (const b of s3) {
      for (const lc of b.attached([S3.lifecycle, S3.lifecycleV2])) {
        for (const r of (lc.props.rules ?? []) as Obj[]) {
          if (r?.status !== "Enabled") continue;
          const what = r.filter?.prefix ? ` (prefix ${r.filter.prefix})` : "";
          if (short(r.expiration?.days))
            report(
              `S3 bucket ${b.name}: lifecycle rule ${r.id}${what} deletes objects after ${r.expiration.days} days, less than ${minDays}`,
              lc.urn,
            );
          if (short(r.noncurrentVersionExpiration?.noncurrentDays))
            report(
              `S3 bucket ${b.name}: lifecycle rule ${r.id}${what} deletes old versions after ${r.noncurrentVersionExpiration.noncurrentDays} days, less than ${minDays}`,
              lc.urn,
            );
        }
      }
    }
    for (const g of gcs) {
      for (const r of (g.props.lifecycleRules ?? []) as Obj[]) {
        if (r?.action?.type !== "Delete") continue;
        if (short(r.condition?.age))
          report(
            `GCS bucket ${gcsBucketName(g)}: a lifecycle rule deletes objects at age ${r.condition.age} days, less than ${minDays}`,
            g.urn,
          );
        if (short(r.condition?.daysSinceNoncurrentTime))
          report(
            `GCS bucket ${gcsBucketName(g)}: a lifecycle rule deletes old versions after ${r.condition.daysSinceNoncurrentTime} days, less than ${minDays}`,
            g.urn,
          );
      }
      const lockedSeconds = Number(g.props.retentionPolicy?.retentionPeriod ?? NaN);
      if (Number.isFinite(lockedSeconds) && lockedSeconds < minDays * 86400)
        report(
          `GCS bucket ${gcsBucketName(g)}: retention policy keeps objects ${lockedSeconds} s, less than ${minDays} days`,
          g.urn,
        );
    }
    for (const j of jobs) {
      const type = j.env.PGBACKREST_REPO1_RETENTION_FULL_TYPE ?? "count";
      const n = Number(j.env.PGBACKREST_REPO1_RETENTION_FULL);
      if (type === "time" && Number.isFinite(n) && n < minDays)
        report(
          `backup job ${j.role}: pgBackRest keeps full backups ${n} days, less than ${minDays}`,
          j.res.urn,
        );
    }
  },
};
