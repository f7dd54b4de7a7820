/**
 * Backups run at least weekly, and always more often than the rehydration window (default 30
 * days): the cron schedule of every backup CronJob is parsed and its longest gap between two runs
 * checked (monthly or "31 February" schedules fail).
 */
import { backupCronJobs, isBackupRole } from "../../../components/backup/inspect";
import { cronGap } from "../../../components/util/cron";
import { formatDuration } from "../../../components/topology/model";
import { ruleConfig } from "../../lib/config";
import type { DrStackRule } from "../../lib/rule";

const DAY = 86_400;

export const rule: DrStackRule = {
  name: "backup-frequency",
  area: "backup",
  kind: "stack",
  description:
    "Every backup CronJob runs at least every maxIntervalDays (default 7) and more often than the rehydration window (rehydrationWindowDays, default 30); schedules must parse.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Set drstack:backup.schedules.<kind> to a cron schedule that fires at least weekly, e.g. "0 2 * * 0" for the full backup.',
  configSchema: {
    properties: {
      maxIntervalDays: {
        type: "integer",
        minimum: 1,
        default: 7,
        description: "Longest allowed gap between two runs of a backup job, in days.",
      },
      rehydrationWindowDays: {
        type: "integer",
        minimum: 1,
        default: 30,
        description: "Days of history a rejoining node needs; backups must be more frequent.",
      },
    },
  },
  validateStack: (args, report) => {
    const cfg = ruleConfig<{ maxIntervalDays: number; rehydrationWindowDays: number }>(
      rule,
      args.getConfig(),
    );
    const jobs = backupCronJobs(args.resources).filter((j) => isBackupRole(j.role));
    if (jobs.length === 0) args.notApplicable("no backup CronJobs in this stack");
    const limit = Math.min(cfg.maxIntervalDays * DAY, cfg.rehydrationWindowDays * DAY - 1);
    for (const j of jobs) {
      const parsed = cronGap(j.schedule);
      if (!parsed.ok) {
        report(
          `backup job ${j.role}: schedule ${JSON.stringify(j.schedule)} does not parse: ${parsed.error}`,
          j.res.urn,
        );
        continue;
      }
      const gap = parsed.gapSeconds;
      if (gap > limit) {
        const why =
          gap >= cfg.rehydrationWindowDays * DAY
            ? `not shorter than the ${cfg.rehydrationWindowDays}-day rehydration window`
            : `more than ${cfg.maxIntervalDays} days`;
        report(
          `backup job ${j.role}: schedule ${JSON.stringify(j.schedule)} can leave ${Number.isFinite(gap) ? formatDuration(gap) : "forever (it never fires)"} between runs, ${why}`,
          j.res.urn,
        );
      }
    }
  },
};
