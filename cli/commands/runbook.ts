import {
  buildRunbooks,
  formatRunbooksMarkdown,
  formatRunbooksText,
  RUNBOOK_SCENARIOS,
  type RunbookScenario,
  type RunbookSite,
} from "../../failover/runbook";
import { loadStackConfig } from "../../components/program";
import { normalizePostgresSettings } from "../../components/postgres/settings";
import { namespaceName } from "../../components/shared/labels";
import { Problems } from "../../components/topology/errors";
import { loadNetwork } from "../../components/topology/load";
import type { Network } from "../../components/topology/model";
import { listStacks, readProject, readStackConfig } from "../../planner/project";
import { type Command, didYouMean, EXIT, many, oneOf, toJson, UsageError } from "../command";
import { networkPaths } from "./failover";

const FORMATS = ["text", "markdown", "json"] as const;

/** Each site's stack, kube context, namespaces and Patroni scope, from the stack files. */
export function runbookSites(projectDir: string, network: Network): Map<string, RunbookSite> {
  const project = readProject(projectDir);
  const out = new Map<string, RunbookSite>();
  for (const stack of listStacks(project)) {
    const sc = readStackConfig(project, stack);
    const siteName = sc.config[`${project.name}:site`];
    const site = network.sites.find((s) => s.name === siteName);
    if (!site || out.has(site.name)) continue;
    const loaded = loadStackConfig(sc.config, project.dir, sc.file);
    const pg = normalizePostgresSettings(
      loaded.settings.structured.postgres,
      network,
      site,
      new Problems(sc.file),
    );
    out.set(site.name, {
      site: site.name,
      stack,
      ...(site.kubernetes.context ? { context: site.kubernetes.context } : {}),
      namespace: namespaceName(loaded.settings.namespacePrefix, "data"),
      validatorsNamespace: namespaceName(loaded.settings.namespacePrefix, "validators"),
      scope: pg.scope,
      members: pg.members,
    });
  }
  return out;
}

export const runbookCommand: Command = {
  name: "runbook",
  summary:
    "print the recovery runbooks (steps and commands) for the current topology, with RTO/RPO",
  options: {
    scenario: { type: "string", multiple: true },
    format: { type: "string" },
    json: { type: "boolean" },
    network: { type: "string" },
  },
  help: `Usage: drstack runbook [--scenario NAME...] [--format text|markdown|json] [--network FILE]

Prints, for the topology in stacks/network.yaml (its current primary and standby sites, their
kube contexts, namespaces and Patroni scope from the stack files), the steps and the commands of
each recovery scenario, with the RTO/RPO objectives declared for it beside each:

  node            single node lost                      objectives.node
  zone            availability zone lost                objectives.zone
  region          primary region lost (stack swap)      objectives.region
  corruption      data corruption: point-in-time restore objectives.corruption
  key-compromise  validator key compromised             objectives.keyCompromise
  restore         everything lost: restore from backups objectives.full

Options:
      --scenario NAME   only this scenario (repeatable; default all)
      --format FORMAT   text (default), markdown (for the wiki / a PR), json
      --json            same as --format json
      --network FILE    topology file (default stacks/network.yaml)
      --project DIR     project directory (default: current directory)

Exit codes: 0 printed, 2 bad input (unknown scenario, invalid topology), 3 internal error.`,
  async run({ values, io, projectDir }) {
    const format = values.json ? "json" : oneOf(values, "format", FORMATS, "text");
    const only = many(values, "scenario");
    for (const s of only)
      if (!(RUNBOOK_SCENARIOS as readonly string[]).includes(s))
        throw new UsageError(
          `--scenario must be one of ${RUNBOOK_SCENARIOS.join(", ")}, got ${JSON.stringify(s)}${didYouMean(s, RUNBOOK_SCENARIOS)}`,
        );
    const net = networkPaths(values, projectDir);
    const network = loadNetwork(net.abs, net.display);
    const books = buildRunbooks(
      network,
      runbookSites(projectDir, network),
      only.length ? (only as RunbookScenario[]) : undefined,
    );
    if (format === "json")
      io.out(toJson({ drstackRunbook: 1, network: network.name, runbooks: books }));
    else if (format === "markdown") io.out(formatRunbooksMarkdown(network, books));
    else io.out(formatRunbooksText(network, books));
    return EXIT.ok;
  },
};
