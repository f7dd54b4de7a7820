/**
 * Reads backup CronJobs and alert rules back from resource props (for policies). Pure.
 */
import type { Res } from "../storage/inspect";

export const CRONJOB_TYPE = "kubernetes:batch/v1:CronJob";
export const PROMETHEUS_RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
/** Label every backup CronJob carries, valued with its role (`pg-full`, `redis`, `verify`, `copy-replica` ...). */
export const BACKUP_JOB_LABEL = "drstack.io/backup-job";

export interface BackupCronJob {
  readonly res: Res;
  readonly role: string;
  readonly schedule: string;
  readonly suspended: boolean;
  /** Environment of the first container, name to literal value. */
  readonly env: Readonly<Record<string, string>>;
}

export function backupCronJobs(resources: readonly Res[]): BackupCronJob[] {
  return resources
    .filter(
      (r) =>
        r.type === CRONJOB_TYPE && typeof r.props.metadata?.labels?.[BACKUP_JOB_LABEL] === "string",
    )
    .map((r) => {
      const container = r.props.spec?.jobTemplate?.spec?.template?.spec?.containers?.[0];
      const env: Record<string, string> = {};
      for (const e of (container?.env ?? []) as { name?: string; value?: unknown }[])
        if (e?.name && typeof e.value === "string") env[e.name] = e.value;
      return {
        res: r,
        role: r.props.metadata.labels[BACKUP_JOB_LABEL],
        schedule: String(r.props.spec?.schedule ?? ""),
        suspended: r.props.spec?.suspend === true,
        env,
      };
    });
}

/** Roles that produce backups (not the restore verification, not bucket copies). */
export function isBackupRole(role: string): boolean {
  return role !== "verify" && !role.startsWith("copy-");
}

/** Alert names defined by the PrometheusRules among these resources. */
export function alertNames(resources: readonly Res[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources.filter(
    (x) =>
      x.type === PROMETHEUS_RULE_TYPE ||
      (x.props.kind === "PrometheusRule" &&
        String(x.props.apiVersion ?? "").startsWith("monitoring.coreos.com/")),
  )) {
    for (const g of (r.props.spec?.groups ?? []) as { rules?: { alert?: string }[] }[])
      for (const rule of g?.rules ?? []) if (rule?.alert) out.add(rule.alert);
  }
  return out;
}
