/**
 * Canton-style party hosting: each party is hosted on at least two validators, in at least two
 * regions, with a confirmation threshold its hosts can still meet when one of them is down.
 */
import { ruleConfig } from "../../lib/config";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

interface Config {
  minHosts: number;
  minHostRegions: number;
  toleratedHostFailures: number;
}

export const rule: DrStackRule = {
  name: "party-hosting",
  area: "topology",
  kind: "stack",
  scope: "network",
  description:
    "Each party is hosted on at least minHosts validators (default 2) in at least minHostRegions regions (default 2), and its confirmation threshold is at most hosts - toleratedHostFailures (default 1), so the party stays available when a host is down.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "In stacks/network.yaml add the party to more validators' parties lists (in another region), or lower the party's threshold so that it is at most the number of hosts minus one.",
  configSchema: {
    properties: {
      minHosts: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Validators that must host each party.",
      },
      minHostRegions: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Regions the hosts of each party must span.",
      },
      toleratedHostFailures: {
        type: "integer",
        minimum: 0,
        default: 1,
        description: "Hosts that may be down while the threshold can still be met.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const c = ruleConfig<Config>(rule, args.getConfig());
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) reportViolation(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0)
      args.notApplicable("no drstack topology ConfigMap in this stack");
    for (const doc of docs) {
      const { network } = doc;
      const siteOf = new Map(network.sites.map((s) => [s.name, s]));
      const declared = new Set((network.parties ?? []).map((p) => p.name));
      for (const v of network.validators) {
        for (const p of v.parties ?? [])
          if (!declared.has(p))
            reportViolation(
              `validator ${v.name} hosts party ${p}, which is not declared under parties (no threshold)`,
              doc.urn,
            );
      }
      for (const party of network.parties ?? []) {
        const hosts = network.validators.filter((v) => (v.parties ?? []).includes(party.name));
        const regions = new Set(
          hosts
            .map((v) => siteOf.get(v.site))
            .filter((s) => s !== undefined)
            .map((s) => `${s!.cloud}/${s!.region}`),
        );
        const names = hosts.map((h) => h.name).join(", ") || "none";
        if (hosts.length < c.minHosts)
          reportViolation(
            `party ${party.name} is hosted on ${hosts.length} validator${hosts.length === 1 ? "" : "s"} (${names}); at least ${c.minHosts} are required`,
            doc.urn,
          );
        else if (regions.size < c.minHostRegions)
          reportViolation(
            `party ${party.name} is hosted only in ${[...regions].join(", ")} (${names}); its hosts must span at least ${c.minHostRegions} regions`,
            doc.urn,
          );
        if (party.threshold > hosts.length)
          reportViolation(
            `party ${party.name} needs ${party.threshold} confirmations but only ${hosts.length} validator${hosts.length === 1 ? "" : "s"} host it: it can never confirm`,
            doc.urn,
          );
        else if (hosts.length > 0 && party.threshold > hosts.length - c.toleratedHostFailures) {
          reportViolation(
            `party ${party.name} needs ${party.threshold} of its ${hosts.length} hosts (${names}): with ${c.toleratedHostFailures} host down it cannot confirm; use threshold <= ${Math.max(0, hosts.length - c.toleratedHostFailures)} or add hosts`,
            doc.urn,
          );
        }
      }
    }
  },
};
