/** Pure text views of a stack swap: the live step line, the timeline, the dry run. */
import type { DryRun } from "./dryrun";
import type { StepRecord, SwapReport } from "./orchestrate";
import { formatSteps } from "./steps";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** One line per finished step: offset, wall time, step, site, status, duration, detail. */
export function formatStepLine(s: StepRecord): string {
  return `[+${seconds(s.offsetMs).padStart(8)}] ${s.startedAt}  ${s.step.padEnd(14)} ${s.site.padEnd(10)} ${s.status.toUpperCase().padEnd(7)} ${seconds(s.durationMs).padStart(8)}  ${s.detail}`;
}

export function formatTimeline(r: SwapReport): string {
  const head =
    r.operation === "failover"
      ? `Failover ${r.from} -> ${r.to} (driver ${r.driver})`
      : `Failback of ${r.to} as a standby of ${r.from} (driver ${r.driver})`;
  const lines = [
    `${head}: ${r.outcome.toUpperCase()} in ${seconds(r.durationMs)}, started ${r.startedAt}`,
  ];
  if (r.forced) lines.push(`Forced: ${r.reason}`);
  lines.push("Timeline:");
  for (const s of r.steps)
    lines.push(
      `  +${seconds(s.offsetMs).padStart(8)}  ${s.step.padEnd(14)} ${s.site.padEnd(10)} ${s.status.padEnd(7)} ${seconds(s.durationMs).padStart(8)}`,
    );
  if (r.configEdits.length)
    lines.push(
      `Topology edited: ${r.configEdits.map((e) => `${e.path} ${e.from} -> ${e.to}`).join(", ")} (commit it: the pull request of this swap)`,
    );
  if (r.stoppedBecause) lines.push(`Stopped: ${r.stoppedBecause}`);
  return lines.join("\n");
}

export function formatDryRun(d: DryRun): string {
  const title =
    d.operation === "failover"
      ? `Failover ${d.from} -> ${d.to}: dry run (offline; nothing is changed)`
      : `Failback of ${d.to} (current primary ${d.from}): dry run (offline; nothing is changed)`;
  const out = [title, ""];
  out.push(`Topology change (${d.networkFile}):`);
  out.push(d.networkDiff ? d.networkDiff.trimEnd().replace(/^/gm, "  ") : "  (none)");
  out.push("");
  out.push(`Resource changes (${d.resourceDiffBasis}):`);
  for (const s of d.resourceDiff) {
    out.push(
      `  stack ${s.stack}: ${s.added.length} to add, ${s.removed.length} to delete, ${s.changed.length} to update, ${s.unchanged} unchanged`,
    );
    for (const r of s.added) out.push(`    + ${r.type}  ${r.name}`);
    for (const r of s.removed) out.push(`    - ${r.type}  ${r.name}`);
    for (const r of s.changed) out.push(`    ~ ${r.type}  ${r.name}  [${r.keys.join(", ")}]`);
  }
  if (d.hazards.length) {
    out.push("");
    out.push("Attention before applying:");
    for (const h of d.hazards) out.push(`  ! ${h}`);
  }
  out.push("");
  out.push("Steps that would run:");
  out.push(formatSteps(d.steps).replace(/^/gm, "  "));
  return out.join("\n");
}
