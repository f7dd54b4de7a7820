/**
 * The site's alerting rules, rendered by a pure function. Every metric has a source the stack
 * deploys (components/monitoring/scrape.ts METRIC_SOURCES), and the data alerts also fire when
 * their metrics are absent (`or absent(...)`): a dead exporter is not a healthy cluster.
 * Rendered (annotations use only `$labels`, so tests
 * can predict them) (the PrometheusRule's spec, and the YAML
 * `promtool check rules` / `promtool test rules` read). Metric sources:
 * - backup jobs (this repo), pushed to the site's Pushgateway (basic auth): `backup_last_success_timestamp_seconds`, `backup_last_failure_timestamp_seconds`,
 *   `backup_size_bytes`, `backup_restore_verification_success`, `backup_restore_verification_last_run_timestamp_seconds`
 *   (labels `site`, `kind` / `check`); its ServiceMonitor scrapes with `honorLabels: true`;
 * - Patroni's REST API `/metrics`: `patroni_primary`, `patroni_standby_leader`, `patroni_xlog_location`,
 *   `patroni_xlog_replayed_location`, `patroni_xlog_replayed_timestamp` (label `scope`);
 * - redis_exporter beside each Sentinel: `redis_sentinel_master_ckquorum_status`, `redis_sentinel_master_ok_sentinels`;
 * - the validators' PodMonitor (CometBFT's Prometheus port): `up`;
 * - S3 replication through the stack's cloudwatch_exporter: `aws_s3_replication_latency_maximum`
 *   (CloudWatch `ReplicationLatency`, dimensions source_bucket/destination_bucket/rule_id); GCS turbo
 *   replication through the stack's stackdriver_exporter: `stackdriver_gcs_bucket_storage_googleapis_com_replication_turbo_max_delay`.
 */
import { stringify } from "yaml";
import { scheduleInterval } from "../util/cron";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface AlertOptions {
  readonly site: string;
  /** Backup kinds the site runs (job roles: `pg-full`, `redis` ...) with their cron schedules. */
  readonly backups: Readonly<Record<string, string>>;
  /** Minimum artifact sizes by kind (bytes); kinds without one only get the shrink check. */
  readonly minBytes: Readonly<Record<string, number>>;
  /** Whether the restore verification job runs, and its schedule. */
  readonly verifySchedule?: string;
  /** The site runs Patroni / Redis Sentinel / validators. */
  readonly postgres: boolean;
  readonly redis: boolean;
  readonly validators: boolean;
  /** PromQL label matchers selecting the validators' scrape targets. Default `namespace="drstack-validators"`. */
  readonly validatorSelector?: string;
  /** How the bucket is replicated (`s3-replication`, `gcs-dual-region`, `copy-job`); absent: no bucket. */
  readonly bucketReplication?: string;
  readonly bucketName?: string;
  /** Sentinels that must see the master. Default 2. */
  readonly sentinelQuorum?: number;
  /** Replication lag alert threshold in seconds. Default 60. */
  readonly replicationLagSeconds?: number;
  /** Bucket replication lag threshold in seconds. Default 900 (S3 RTC's 15 minutes). */
  readonly bucketLagSeconds?: number;
}

export const REQUIRED_ALERTS = [
  "BackupTooOld",
  "BackupTooSmall",
  "BackupJobFailed",
  "RestoreVerificationFailed",
  "PostgresReplicationLag",
  "PatroniNoLeader",
  "SentinelQuorumLost",
  "ValidatorDown",
  "BucketReplicationLag",
] as const;

const DAY = 86_400;
/** Backups may be at most this old (or one schedule interval plus 6 hours, whichever is longer). */
export const MAX_BACKUP_AGE_SECONDS = DAY;

/** Age threshold for a kind: 24 h, or the schedule's longest gap plus 6 h for rarer schedules (weekly full). */
export function ageThreshold(schedule: string): number {
  const interval = scheduleInterval(schedule) ?? DAY;
  return Math.max(MAX_BACKUP_AGE_SECONDS, interval + 6 * 3600);
}

function q(s: string): string {
  return JSON.stringify(s);
}

function rule(
  alert: string,
  expr: string,
  forDuration: string,
  severity: string,
  summary: string,
  description: string,
): AlertRule {
  return {
    alert,
    expr,
    for: forDuration,
    labels: { severity, team: "drstack" },
    annotations: { summary, description },
  };
}

export function renderAlertRules(o: AlertOptions): RuleGroup[] {
  const site = `site=${q(o.site)}`;
  const groups: RuleGroup[] = [];
  const kinds = Object.keys(o.backups).sort();
  const backup: AlertRule[] = [];
  if (kinds.length > 0) {
    const byThreshold = new Map<number, string[]>();
    for (const k of kinds)
      byThreshold.set(ageThreshold(o.backups[k]), [
        ...(byThreshold.get(ageThreshold(o.backups[k])) ?? []),
        k,
      ]);
    const age = [...byThreshold.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(
        ([t, ks]) =>
          `(time() - max by (site, kind) (backup_last_success_timestamp_seconds{${site},kind=~${q(ks.join("|"))}}) > ${t})`,
      )
      .join(" or ");
    const absent = kinds
      .map((k) => `absent(backup_last_success_timestamp_seconds{${site},kind=${q(k)}})`)
      .join(" or ");
    backup.push(
      rule(
        "BackupTooOld",
        age,
        "15m",
        "critical",
        "Backup {{ $labels.kind }} of site {{ $labels.site }} is too old",
        `No ${"{{ $labels.kind }}"} backup of site ${"{{ $labels.site }}"} has succeeded within its limit (24 h, or its longest schedule gap plus 6 h).`,
      ),
      rule(
        "BackupMissing",
        absent,
        "26h",
        "critical",
        "No successful {{ $labels.kind }} backup of site {{ $labels.site }} is known",
        "No backup job of this kind has ever reported success to the Pushgateway.",
      ),
    );
    const min = kinds
      .filter((k) => o.minBytes[k] !== undefined)
      .map(
        (k) => `(max by (site, kind) (backup_size_bytes{${site},kind=${q(k)}}) < ${o.minBytes[k]})`,
      );
    const shrinkKinds = kinds.filter((k) => !/^pg-(diff|incr)$/.test(k));
    const shrink = shrinkKinds.length
      ? [
          `(max by (site, kind) (backup_size_bytes{${site},kind=~${q(shrinkKinds.join("|"))}}) < 0.5 * max by (site, kind) (max_over_time(backup_size_bytes{${site},kind=~${q(shrinkKinds.join("|"))}}[7d])))`,
        ]
      : [];
    backup.push(
      rule(
        "BackupTooSmall",
        [...min, ...shrink].join(" or "),
        "0m",
        "critical",
        "Backup {{ $labels.kind }} of site {{ $labels.site }} is suspiciously small",
        "The last {{ $labels.kind }} backup is below its minimum size or less than half the largest of the last 7 days: it may be empty or truncated.",
      ),
      rule(
        "BackupJobFailed",
        `(max by (site, kind) (backup_last_failure_timestamp_seconds{${site}}) > on (site, kind) max by (site, kind) (backup_last_success_timestamp_seconds{${site}})) or (max by (site, kind) (backup_last_failure_timestamp_seconds{${site}}) unless on (site, kind) backup_last_success_timestamp_seconds{${site}})`,
        "0m",
        "critical",
        "Backup job {{ $labels.kind }} of site {{ $labels.site }} failed",
        "The latest run of the {{ $labels.kind }} backup failed after its last success; see the job's logs in the backup namespace.",
      ),
    );
  }
  if (o.verifySchedule) {
    backup.push(
      rule(
        "RestoreVerificationFailed",
        `backup_restore_verification_success{${site}} == 0`,
        "0m",
        "critical",
        "Restore verification {{ $labels.check }} failed on site {{ $labels.site }}",
        "The newest backup did not restore or did not pass its checks: backups may be unusable.",
      ),
      rule(
        "RestoreVerificationStale",
        `(time() - max by (site) (backup_restore_verification_last_run_timestamp_seconds{${site}}) > ${ageThreshold(o.verifySchedule)}) or absent(backup_restore_verification_last_run_timestamp_seconds{${site}})`,
        "15m",
        "warning",
        "Restore verification has not run on site {{ $labels.site }}",
        "The restore verification job has not completed within its schedule interval plus 6 h.",
      ),
    );
  }
  if (backup.length) groups.push({ name: "drstack-backups", rules: backup });

  const data: AlertRule[] = [];
  if (o.postgres) {
    const lag = o.replicationLagSeconds ?? 60;
    data.push(
      rule(
        "PostgresReplicationLag",
        `((time() - patroni_xlog_replayed_timestamp > ${lag} and patroni_xlog_replayed_timestamp > 0) and (max by (scope) (patroni_xlog_location) - on (scope) group_right () patroni_xlog_replayed_location > 0)) or absent(patroni_xlog_location)`,
        "2m",
        "critical",
        "PostgreSQL replica {{ $labels.instance }} of {{ $labels.scope }} lags",
        `The replica has not replayed WAL the primary already wrote for more than ${lag} s.`,
      ),
      rule(
        "PatroniNoLeader",
        `(max by (scope) (patroni_primary + patroni_standby_leader) < 1) or absent(patroni_primary)`,
        "1m",
        "critical",
        "Patroni cluster {{ $labels.scope }} has no leader",
        "No member is primary or standby leader: writes (or standby replication) have stopped.",
      ),
    );
  }
  if (o.redis) {
    data.push(
      rule(
        "SentinelQuorumLost",
        `(max by (master_name) (redis_sentinel_master_ckquorum_status) == 0) or (max by (master_name) (redis_sentinel_master_ok_sentinels) < ${o.sentinelQuorum ?? 2}) or absent(redis_sentinel_master_ok_sentinels)`,
        "1m",
        "critical",
        "Redis Sentinel quorum lost for {{ $labels.master_name }}",
        "Sentinels cannot agree to fail over master {{ $labels.master_name }}.",
      ),
    );
  }
  if (o.validators) {
    data.push(
      rule(
        "ValidatorDown",
        `(up{${o.validatorSelector ?? 'namespace="drstack-validators"'}} == 0) or absent(up{${o.validatorSelector ?? 'namespace="drstack-validators"'}})`,
        "2m",
        "critical",
        "Validator {{ $labels.instance }} is down",
        "The validator's metrics endpoint has not answered for 2 minutes.",
      ),
    );
  }
  if (o.bucketReplication) {
    const t = o.bucketLagSeconds ?? 900;
    const b = o.bucketName ?? "";
    const expr =
      o.bucketReplication === "s3-replication"
        ? `max by (source_bucket, destination_bucket) (aws_s3_replication_latency_maximum{source_bucket=${q(b)}}) > ${t}`
        : o.bucketReplication === "gcs-dual-region"
          ? `max by (bucket_name) (stackdriver_gcs_bucket_storage_googleapis_com_replication_turbo_max_delay{bucket_name=${q(b)}}) > ${t}`
          : `time() - max by (site, kind) (backup_last_success_timestamp_seconds{${site},kind="copy-replica"}) > ${t + 3600}`;
    data.push(
      rule(
        "BucketReplicationLag",
        expr,
        "15m",
        "warning",
        "Backup bucket replication lags",
        `Objects of ${b} reach the other region more than ${t} s late.`,
      ),
    );
  }
  if (data.length) groups.push({ name: "drstack-replication", rules: data });
  return groups;
}

/** The rules as a Prometheus rule file (what promtool reads). */
export function renderRuleFile(groups: readonly RuleGroup[]): string {
  return stringify({ groups }, { lineWidth: 0 });
}
