/** Human-readable drill report. Pure. */
import { majorMinor } from "../components/shared/versions";
import type { DrillReport } from "./runner";
import type { Summary } from "./stats";

const s = (x: number | undefined, digits = 2) => (x === undefined ? "-" : `${x.toFixed(digits)}s`);
const range = (m: Summary | undefined, digits = 2) =>
  m ? `${s(m.min, digits)} / ${s(m.median, digits)} / ${s(m.max, digits)}` : "-";

export function formatReport(r: DrillReport): string {
  const lines: string[] = [];
  const pg = r.settings.postgres;
  const same =
    majorMinor(r.patroniVersion) === majorMinor(r.deployed.patroni) &&
    String(r.postgresMajor) === r.deployed.postgres.split(".")[0];
  lines.push(
    `drstack drill: Patroni ${r.patroniVersion}, PostgreSQL ${r.postgresMajor}; deployed image ${r.deployed.image}: Patroni ${r.deployed.patroni}, PostgreSQL ${r.deployed.postgres} (${same ? "same" : "NOT the same"} Patroni major.minor and PostgreSQL major)`,
    `deployed settings: ttl ${pg.ttl}s, loop_wait ${pg.loopWait}s, retry_timeout ${pg.retryTimeout}s, synchronous_mode ${pg.synchronousMode}; Sentinel down-after ${r.settings.redis.downAfterMilliseconds}ms, quorum ${r.settings.redis.quorum}/${r.settings.redis.sentinels}`,
  );
  lines.push(`objectives from ${r.network}`, "");
  const w = Math.max(...r.summaries.map((x) => x.scenario.length), 8);
  lines.push(
    `${"scenario".padEnd(w)}  runs  RTO min / median / max       lost  RPO max   objective (rto/rpo)   verdict`,
  );
  for (const x of r.summaries) {
    lines.push(
      [
        x.scenario.padEnd(w),
        String(x.runs).padStart(4),
        range(x.rto).padEnd(27),
        String(x.lostWrites?.max ?? "-").padStart(5),
        s(x.rpo?.max, 3).padStart(8),
        (x.objective
          ? `${x.objective.name} ${x.objective.rto}/${x.objective.rpo}`
          : x.scenario === "node-failover-baseline"
            ? "(baseline)"
            : "(checks only)"
        ).padEnd(21),
        x.verdict.toUpperCase(),
      ].join("  "),
    );
    for (const why of x.reasons) lines.push(`${"".padEnd(w)}    - ${why}`);
  }
  for (const x of r.summaries) {
    const b = r.runs.find((run) => run.scenario === x.scenario && run.measures.boundSeconds);
    if (b && x.rto)
      lines.push(
        `${x.scenario}: measured RTO median ${s(x.rto.median)} vs theoretical bound ${s(Number(b.measures.boundSeconds))} from the rendered settings (${x.scenario === "node-drain" ? "one loop_wait after the key is released; PostgreSQL shutdown and promotion on top" : "ttl + loop_wait; promotion on top"})`,
      );
  }
  const base = r.summaries.find((x) => x.scenario === "node-failover-baseline");
  const node = r.summaries.find((x) => x.scenario === "node-failover");
  if (base?.rto && node?.rto)
    lines.push(
      "",
      `node failover, deployed timing vs Patroni defaults (median): ${s(node.rto.median)} vs ${s(base.rto.median)} (x${(base.rto.median / node.rto.median).toFixed(2)} faster)`,
    );
  lines.push("", "runs:");
  for (const run of r.runs) {
    const head = `  ${run.scenario} #${run.run}: `;
    if (run.error) {
      lines.push(`${head}ERROR ${run.error}`);
      continue;
    }
    const m = Object.entries(run.measures)
      .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toFixed(3)) : v}`)
      .join(" ");
    lines.push(
      `${head}RTO ${s(run.rtoSeconds)} lost ${run.lostWrites ?? "-"} of ${run.acknowledgedWrites ?? "-"} acknowledged, RPO ${s(run.rpoSeconds, 3)}`,
      `    ${m}`,
    );
    for (const c of run.checks)
      lines.push(`    [${c.ok ? "ok" : "FAIL"}] ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
  }
  lines.push(
    "",
    `environment start: ${r.environmentStartSeconds.map((x) => `${x.toFixed(1)}s`).join(", ") || "-"}; total ${r.totalSeconds.toFixed(1)}s`,
    `processes left running: ${r.leftoverPids.length ? r.leftoverPids.join(", ") : "none"}; work directory ${r.workDirRemoved ? "removed" : `kept: ${r.workDir}`}`,
    `result: ${r.passed ? "every objective met" : "OBJECTIVE MISSED or scenario failed"}`,
  );
  return lines.join("\n");
}
