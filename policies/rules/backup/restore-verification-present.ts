/** A stack that takes backups also proves they restore, on a schedule (at least weekly by default). */
import { backupCronJobs, isBackupRole } from "../../../components/backup/inspect";
import { scheduleInterval } from "../../../components/util/cron";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "restore-verification-present",
  area: "backup",
  kind: "stack",
  description:
    "A stack with backup CronJobs has an active restore verification CronJob (label drstack.io/backup-job: verify) that runs at least every maxIntervalDays (default 7).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Deploy backups with BackupSchedule (components/backup), which adds the verify CronJob; keep drstack:backup.schedules.verify at least weekly.",
  configSchema: {
    properties: {
      maxIntervalDays: {
        type: "integer",
        minimum: 1,
        default: 7,
        description: "Longest allowed gap between two verifications, in days.",
      },
    },
  },
  validateStack: (args, report) => {
    const { maxIntervalDays } = ruleConfig<{ maxIntervalDays: number }>(rule, args.getConfig());
    const jobs = backupCronJobs(args.resources);
    const backups = jobs.filter((j) => isBackupRole(j.role) && !j.suspended);
    if (backups.length === 0) args.notApplicable("no active backup CronJobs in this stack");
    const verify = jobs.filter((j) => j.role === "verify" && !j.suspended);
    if (verify.length === 0) {
      report(
        `backups (${backups.map((j) => j.role).join(", ")}) are taken but no restore verification CronJob proves they restore`,
        backups[0].res.urn,
      );
      return;
    }
    const often = verify.filter(
      (j) => (scheduleInterval(j.schedule) ?? Infinity) <= maxIntervalDays * 86_400,
    );
    if (often.length === 0)
      report(
        `restore verification runs less often than every ${maxIntervalDays} days (${verify.map((j) => j.schedule).join(", ")})`,
        verify[0].res.urn,
      );
  },
};
