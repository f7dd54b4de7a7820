/**
 * The analysis as text (a table per domain, then the formulas), Markdown (a pull-request comment)
 * and JSON (bigints and fractions as strings). Pure.
 */
import { formatDuration } from "../components/topology/model";
import { formatFraction, formatPercent } from "../components/topology/voting";
import type { Analysis, DomainResult, ObjectiveCheck } from "./analysis";

const dur = (s: number) => (Number.isFinite(s) ? formatDuration(s) : "never");

function consensusCell(d: DomainResult): string {
  const c = d.consensus;
  const state = c.halts ? "HALTS" : c.producesBlocks ? "ok" : "at risk";
  return `${c.remaining}/${c.total} online, ${state}`;
}

function checkCell(checks: readonly ObjectiveCheck[], what: "rto" | "rpo"): string {
  const c = checks.find((x) => x.what === what);
  if (!c) return "-";
  const got = c.achievable ? dur(c.achievable.seconds) : "?";
  return `${got} / ${c.declared} ${c.verdict === "met" ? "met" : c.verdict === "missed" ? "MISSED" : "n/d"}`;
}

interface Row {
  readonly cells: readonly string[];
}

function rows(a: Analysis): Row[] {
  return a.domains.map((d) => ({
    cells: [
      `${d.domain.kind} ${d.domain.name}`,
      consensusCell(d),
      `${d.postgres.recovery}${d.postgres.writer ? ` -> ${d.postgres.writer}` : ""}`,
      d.postgres.currentCopy ? "yes" : "NO",
      d.redis.recovery,
      d.backup.newestRestorable ? `<= ${dur(d.backup.newestRestorable.seconds)}` : "NONE",
      d.scenario ?? "-",
      checkCell(d.checks, "rto"),
      checkCell(d.checks, "rpo"),
    ],
  }));
}

const HEAD = [
  "DOMAIN",
  "CONSENSUS",
  "POSTGRES WRITES",
  "CURRENT COPY",
  "REDIS",
  "NEWEST BACKUP",
  "OBJECTIVE",
  "RTO (bound/declared)",
  "RPO (bound/declared)",
];

function largestLines(a: Analysis): string[] {
  return a.largest.map(
    (l) =>
      `  largest ${l.kind}: ${l.domain} ${l.power} = ${formatFraction(l.share)} (${formatPercent(l.share)})`,
  );
}

function detailLines(d: DomainResult): string[] {
  const out = [
    `${d.domain.kind} ${d.domain.name}:`,
    `  consensus: loses ${d.consensus.lost}/${d.consensus.total} (${formatFraction(d.consensus.lostShare)}) [${d.consensus.lostValidators.join(", ") || "no validators"}]; ${d.consensus.producesBlocks ? "more than 2/3 stays online" : "2/3 or less stays online"}${d.consensus.halts ? "; the loss is >= 1/3: consensus HALTS" : ""}`,
    `  postgres: ${d.postgres.detail}`,
    `  redis: ${d.redis.detail}`,
    `  backups: ${d.backup.surviving.length ? `surviving ${d.backup.surviving.join(", ")}` : "NO copy outside the domain"}${d.backup.newestRestorable ? `; newest restorable <= ${d.backup.newestRestorable.formula}` : ""}; keys: ${d.backup.keys}`,
  ];
  for (const c of d.checks)
    out.push(
      `  ${c.scenario} ${c.what.toUpperCase()} ${c.declared}: ${c.verdict}${c.achievable ? ` (${c.achievable.formula})` : ""}${c.fix ? `; ${c.verdict === "missed" ? "change: " : ""}${c.fix}` : ""}`,
    );
  return out;
}

function globalLines(a: Analysis): string[] {
  return a.global.map(
    (c) =>
      `  ${c.scenario} ${c.what.toUpperCase()} ${c.declared}: ${c.verdict}${c.achievable ? ` (${c.achievable.formula})` : ""}${c.fix ? `; ${c.verdict === "missed" ? "change: " : ""}${c.fix}` : ""}`,
  );
}

function table(head: readonly string[], body: readonly Row[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r.cells[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(head), ...body.map((r) => line(r.cells))];
}

export function formatAnalysisText(a: Analysis): string {
  return [
    `Failure-domain analysis of ${a.network}`,
    ...largestLines(a),
    "",
    ...table(HEAD, rows(a)),
    "",
    "Network-wide objectives:",
    ...globalLines(a),
    "",
    "Per domain (formulas):",
    ...a.domains.flatMap(detailLines),
    "",
    `Assumed: decision ${dur(a.assumptions.decisionSeconds)}, stack update ${dur(a.assumptions.stackUpdateSeconds)} (--decision, --stack-update).`,
    ...(a.unknownSites.length ? [`Not planned (facts unknown): ${a.unknownSites.join(", ")}`] : []),
    ...(a.warnings.length
      ? ["", "Warnings (not failing):", ...a.warnings.map((w) => `  - ${w}`)]
      : []),
    a.problems.length
      ? `\n${a.problems.length} problem${a.problems.length === 1 ? "" : "s"}:\n${a.problems.map((p) => `  - ${p}`).join("\n")}`
      : "\nNo problems: every domain loss keeps consensus and a current copy, and every objective is met.",
  ].join("\n");
}

const md = (s: string) => s.replace(/\|/g, "\\|");

export function formatAnalysisMarkdown(a: Analysis): string {
  const body = rows(a);
  return [
    `### drstack analyze: ${md(a.network)}`,
    "",
    a.problems.length
      ? `**${a.problems.length} problem${a.problems.length === 1 ? "" : "s"}**`
      : "No problems: every domain loss keeps consensus and a current copy, and every objective is met.",
    "",
    ...a.problems.map((p) => `- ${md(p)}`),
    ...a.warnings.map((w) => `- warning: ${md(w)}`),
    "",
    ...largestLines(a).map((l) => `- ${l.trim()}`),
    "",
    `| ${HEAD.join(" | ")} |`,
    `| ${HEAD.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.cells.map(md).join(" | ")} |`),
    "",
    "<details><summary>Formulas and network-wide objectives</summary>",
    "",
    "```",
    ...globalLines(a),
    ...a.domains.flatMap(detailLines),
    "```",
    "",
    "</details>",
  ].join("\n");
}

/** JSON-safe form: bigints as strings, fractions as `n/d`. */
export function analysisJson(a: Analysis): unknown {
  return JSON.parse(
    JSON.stringify(a, (_k, v) => {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "number" && !Number.isFinite(v)) return null;
      if (v instanceof Set) return [...v];
      if (v && typeof v === "object" && "num" in v && "den" in v && Object.keys(v).length === 2)
        return formatFraction(v);
      return v;
    }),
  );
}
