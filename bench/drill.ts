/**
 * Drill benchmark: N runs (default 5) of each failover scenario plus the Patroni-defaults
 * baseline, and one backup-restore run; prints the medians and the Patroni version they come from.
 *
 *   node dist/bench/drill.js [--runs N] [--scale N] [--base-port P] [--json]
 */
import { parseArgs } from "node:util";
import { DEFAULT_BASE_PORT } from "../drill/layout";
import { formatReport } from "../drill/report";
import { DRILL_DEFAULT } from "../components/shared/versions";
import { type DrillReport, runDrill } from "../drill/runner";
import { BASELINE, type PlannedScenario, type ScenarioSummary } from "../drill/stats";

const TARGETS: Readonly<Record<string, string>> = {
  "node-failover": "<= 5 s median, 0 lost",
  "region-failover": "<= 5 s from the decision",
  "redis-failover": "<= 3 s",
  "backup-restore": "restore >= 3x faster than pg_dump/psql",
};

/** The issue's target for a failover scenario: median RTO at most `seconds` and nothing lost. */
function target(s: ScenarioSummary, seconds: number): string {
  if (!s.rto) return "target: no measurement";
  const met = s.rto.median <= seconds && (s.lostWrites?.max ?? 0) === 0;
  return `target ${TARGETS[s.scenario]}: ${met ? "met" : "MISSED"}`;
}

function median(report: DrillReport, scenario: PlannedScenario, key: string): number | undefined {
  const xs = report.runs
    .filter((r) => r.scenario === scenario && typeof r.measures[key] === "number")
    .map((r) => r.measures[key] as number)
    .sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const m = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

function line(s: ScenarioSummary, extra = ""): string {
  const f = (x: number | undefined) => (x === undefined ? "-" : `${x.toFixed(2)}s`);
  return `  ${s.scenario.padEnd(24)} runs ${s.runs}  RTO median ${f(s.rto?.median)} (min ${f(s.rto?.min)}, max ${f(s.rto?.max)})  lost max ${s.lostWrites?.max ?? "-"}  objectives ${s.verdict}${extra}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      scale: { type: "string", default: "50" },
      "base-port": { type: "string", default: String(DEFAULT_BASE_PORT) },
      json: { type: "boolean" },
      // Repeat to compare Patroni versions: medians per scenario and version.
      patroni: { type: "string", multiple: true },
    },
  });
  const runs = Number(values.runs);
  const versions = values.patroni?.length ? values.patroni : [DRILL_DEFAULT.patroni];
  const reports: DrillReport[] = [];
  for (const patroni of versions)
    reports.push(
      await runDrill({
        projectDir: process.cwd(),
        basePort: Number(values["base-port"]),
        scenarios: [
          "node-failover",
          "node-drain",
          BASELINE,
          "switchover",
          "redis-failover",
          "region-failover",
        ],
        runs,
        patroni,
        progress: (l) => process.stderr.write(`${l}\n`),
      }),
    );
  const report = reports[0];
  const backup = await runDrill({
    projectDir: process.cwd(),
    basePort: Number(values["base-port"]),
    scenarios: ["backup-restore"],
    runs: 1,
    pgbenchScale: Number(values.scale),
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ failover: reports, backup }, null, 2)}\n`);
    return;
  }
  const sum = (r: DrillReport, s: PlannedScenario) => r.summaries.find((x) => x.scenario === s)!;
  const node = sum(report, "node-failover");
  const base = sum(report, BASELINE);
  const out = [
    `drill benchmark: Patroni ${report.patroniVersion}, ${runs} runs per scenario; deployed ttl ${report.settings.postgres.ttl}s / loop_wait ${report.settings.postgres.loopWait}s / retry_timeout ${report.settings.postgres.retryTimeout}s; Sentinel down-after ${report.settings.redis.downAfterMilliseconds}ms`,
    line(node, `   ${target(node, 5)}`),
    line(base, "   (Patroni defaults ttl 30 / loop_wait 10 / retry_timeout 10)"),
    node.rto && base.rto
      ? `  node failover speed-up vs Patroni defaults (median): x${(base.rto.median / node.rto.median).toFixed(2)}`
      : "  node failover speed-up: -",
    line(sum(report, "switchover"), "   (write pause)"),
    line(sum(report, "redis-failover"), `   ${target(sum(report, "redis-failover"), 3)}`),
    line(
      sum(report, "region-failover"),
      `   from the decision; from the crash median ${median(report, "region-failover", "rtoFromCrashSeconds")?.toFixed(2)}s; standby lag before the crash median ${median(report, "region-failover", "standbyLagBytesBeforeCrash")} bytes; ${target(sum(report, "region-failover"), 5)}`,
    ),
  ];
  const b = backup.runs[0];
  if (b && !b.error)
    out.push(
      `  backup-restore (pgbench scale ${b.measures.pgbenchScale}): pgBackRest restore ${b.measures.pgbackrestRestoreSeconds}s vs pg_dump/psql ${b.measures.dumpRestoreSeconds}s = x${b.measures.restoreSpeedup} (target ${TARGETS["backup-restore"]}: ${Number(b.measures.restoreSpeedup) >= 3 ? "met" : "MISSED"}); PITR ${b.measures.pitrRestoreSeconds}s; ${sum(backup, "backup-restore").verdict}`,
    );
  else out.push(`  backup-restore: ${b?.error ?? "no run"}`);
  // Medians per scenario and version (the README table).
  out.push(
    "",
    `| scenario | ${reports.map((r) => `Patroni ${r.patroniVersion} + PostgreSQL ${r.postgresMajor}`).join(" | ")} |`,
    `| --- | ${reports.map(() => "---").join(" | ")} |`,
  );
  for (const sc of report.summaries.map((x) => x.scenario))
    out.push(
      `| ${sc} | ${reports
        .map((r) => {
          const x = r.summaries.find((y) => y.scenario === sc);
          return x?.rto ? `${x.rto.median.toFixed(2)} s (lost ${x.lostWrites?.max ?? "-"})` : "-";
        })
        .join(" | ")} |`,
    );
  out.push("", ...reports.map(formatReport), "", formatReport(backup));
  process.stdout.write(`${out.join("\n")}\n`);
  process.exitCode = reports.every((r) => r.passed) && backup.passed ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`bench drill: ${(e as Error).message}\n`);
  process.exitCode = 3;
});
