/** Pure views of offline plans: resource tree, counts by type, topology summary, stable JSON. */
import type { Network } from "../components/topology/model";
import { formatFraction, formatPercent, powerByRegion } from "../components/topology/voting";
import type { ResourceRecord } from "./monitor";
import type { StackPlan } from "./plan";

export const REDACTED = "[secret]";

export function countsByType(resources: readonly ResourceRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** The resource tree as text, children under their parent in registration order. */
export function resourceTree(resources: readonly ResourceRecord[]): string {
  const children = new Map<string | undefined, ResourceRecord[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const key = r.parent && urns.has(r.parent) ? r.parent : undefined;
    if (!children.has(key)) children.set(key, []);
    children.get(key)!.push(r);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, prefix: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      const branch = parent === undefined ? "" : last ? "└─ " : "├─ ";
      lines.push(`${prefix}${branch}${r.type}  ${r.name}`);
      walk(r.urn, parent === undefined ? prefix : prefix + (last ? "   " : "│  "));
    });
  };
  walk(undefined, "");
  return lines.join("\n");
}

export interface TopologySummary {
  readonly name: string;
  readonly sites: {
    name: string;
    role: string;
    cloud: string;
    region: string;
    zones: readonly string[];
    services: readonly string[];
    validators: number;
    votingPower: string;
  }[];
  readonly validators: number;
  readonly totalVotingPower: string;
  readonly regions: {
    key: string;
    cloud: string;
    region: string;
    power: string;
    share: string;
    percent: string;
    validators: readonly string[];
  }[];
  readonly objectives: Network["objectives"];
}

export function topologySummary(network: Network): TopologySummary {
  const dist = powerByRegion(network);
  return {
    name: network.name,
    sites: network.sites.map((s) => {
      const vs = network.validators.filter((v) => v.site === s.name);
      return {
        name: s.name,
        role: s.role,
        cloud: s.cloud,
        region: s.region,
        zones: s.zones,
        services: s.services,
        validators: vs.length,
        votingPower: vs.reduce((a, v) => a + BigInt(v.votingPower), 0n).toString(),
      };
    }),
    validators: network.validators.length,
    totalVotingPower: dist.total.toString(),
    regions: dist.regions.map((r) => ({
      key: r.key,
      cloud: r.cloud,
      region: r.region,
      power: r.power.toString(),
      share: formatFraction(r.share),
      percent: formatPercent(r.share),
      validators: r.validators,
    })),
    objectives: network.objectives,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map(
      (r) =>
        "  " +
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
    )
    .join("\n");
}

export function formatTopology(t: TopologySummary): string {
  const sites = table([
    ["SITE", "ROLE", "CLOUD", "REGION", "ZONES", "VALIDATORS", "POWER", "SERVICES"],
    ...t.sites.map((s) => [
      s.name,
      s.role,
      s.cloud,
      s.region,
      s.zones.join(","),
      String(s.validators),
      s.votingPower,
      s.services.join(","),
    ]),
  ]);
  const regions = table([
    ["REGION", "POWER", "SHARE", "PERCENT", "VALIDATORS"],
    ...t.regions.map((r) => [
      r.key,
      `${r.power}/${t.totalVotingPower}`,
      r.share,
      r.percent,
      r.validators.join(",") || "-",
    ]),
  ]);
  const objectives = table([
    ["SCENARIO", "RTO", "RPO"],
    ...Object.entries(t.objectives).map(([k, o]) => [k, o!.rto, o!.rpo]),
  ]);
  return [
    `Topology ${t.name}: ${t.sites.length} sites, ${t.validators} validators, total voting power ${t.totalVotingPower}`,
    sites,
    "",
    "Voting power by region (exact):",
    regions,
    "",
    "Recovery objectives:",
    objectives,
  ].join("\n");
}

/** A resource as `--json` prints it: secrets redacted. */
export function resourceJson(r: ResourceRecord): Record<string, unknown> {
  const secretOut = new Set([...r.secretInputs, ...r.additionalSecretOutputs]);
  const redact = (o: Record<string, unknown>, keys: Set<string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, keys.has(k) ? REDACTED : v]));
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    custom: r.custom,
    parent: r.parent ?? null,
    provider: r.provider ?? null,
    id: r.id ?? null,
    dependencies: r.dependencies,
    secretInputs: r.secretInputs,
    inputs: redact(r.inputs, new Set(r.secretInputs)),
    outputs: redact(r.outputs, secretOut),
  };
}

export function stackPlanJson(plan: StackPlan): Record<string, unknown> {
  return {
    stack: plan.stack,
    file: plan.file,
    site: plan.outputs.site ?? null,
    resourceCount: plan.resources.length,
    counts: countsByType(plan.resources),
    stackReferences: plan.stackReferences,
    outputs: plan.outputs,
    resources: plan.resources.map(resourceJson),
  };
}
