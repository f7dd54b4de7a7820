/** Renders a policy report as text, JSON or markdown (fit for a pull-request comment). Pure. */
import { mandatoryCount, type PolicyReport, type Violation } from "./runner";

export const POLICY_JSON_VERSION = 1;

function resourceOf(v: Violation): string {
  if (v.resourceName) return `${v.resourceType?.split(":").pop() ?? "resource"} ${v.resourceName}`;
  return v.urn ? (v.urn.split("::").pop() ?? v.urn) : "(stack)";
}

function counts(report: PolicyReport): { mandatory: number; advisory: number } {
  const mandatory = mandatoryCount(report);
  return { mandatory, advisory: report.violations.length - mandatory };
}

function summaryLine(report: PolicyReport): string {
  const active = report.rules.filter((r) => r.enforcementLevel !== "disabled").length;
  return `${active} rules over ${report.resourcesChecked} resources in ${report.stacks.length} stack${report.stacks.length === 1 ? "" : "s"} (${report.stacks.join(", ")}), ${report.evaluations} evaluations in ${report.durationMs.toFixed(0)} ms`;
}

export function formatText(report: PolicyReport): string {
  const { mandatory, advisory } = counts(report);
  const lines: string[] = [];
  const sorted = [...report.violations].sort((a, b) =>
    a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === "mandatory" ? -1 : 1,
  );
  for (const v of sorted) {
    lines.push(
      `${v.enforcementLevel === "mandatory" ? "FAIL" : "warn"} [${v.rule}] (${v.severity}) ${v.stack}: ${resourceOf(v)}`,
    );
    lines.push(`     ${v.message}`);
  }
  if (lines.length) lines.push("");
  lines.push(summaryLine(report));
  lines.push(
    mandatory === 0
      ? `passed: no mandatory violations${advisory ? `, ${advisory} advisory` : ""}`
      : `failed: ${mandatory} mandatory violation${mandatory === 1 ? "" : "s"}${advisory ? `, ${advisory} advisory` : ""}`,
  );
  return lines.join("\n");
}

export function reportJson(report: PolicyReport): Record<string, unknown> {
  const { mandatory, advisory } = counts(report);
  return {
    drstackPolicy: POLICY_JSON_VERSION,
    passed: mandatory === 0,
    mandatory,
    advisory,
    stacks: report.stacks,
    rules: report.rules,
    violations: report.violations,
    notApplicable: report.notApplicable,
    resourcesChecked: report.resourcesChecked,
    evaluations: report.evaluations,
    durationMs: Math.round(report.durationMs),
  };
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function formatMarkdown(report: PolicyReport): string {
  const { mandatory, advisory } = counts(report);
  const out: string[] = [];
  out.push(
    mandatory === 0
      ? `### ✅ drstack policy: passed`
      : `### ❌ drstack policy: ${mandatory} mandatory violation${mandatory === 1 ? "" : "s"}`,
  );
  out.push("");
  out.push(`${summaryLine(report)}${advisory ? `; ${advisory} advisory` : ""}.`);
  if (report.violations.length) {
    out.push("");
    out.push("| level | rule | severity | stack | resource | message |");
    out.push("|---|---|---|---|---|---|");
    const sorted = [...report.violations].sort((a, b) =>
      a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === "mandatory" ? -1 : 1,
    );
    for (const v of sorted)
      out.push(
        `| ${v.enforcementLevel === "mandatory" ? "❌ mandatory" : "⚠️ advisory"} | \`${v.rule}\` | ${v.severity} | ${cell(v.stack)} | ${cell(resourceOf(v))} | ${cell(v.message)} |`,
      );
  }
  out.push("");
  out.push("<details><summary>Rules</summary>");
  out.push("");
  out.push("| rule | area | kind | level |");
  out.push("|---|---|---|---|");
  for (const r of report.rules)
    out.push(
      `| \`${r.name}\` | ${r.area} | ${r.kind === "stack" ? `stack (${r.scope})` : "resource"} | ${r.enforcementLevel} |`,
    );
  out.push("");
  out.push("</details>");
  return out.join("\n");
}
