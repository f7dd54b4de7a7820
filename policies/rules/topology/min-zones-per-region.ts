/**
 * Every region the network uses spans at least N (default 2) availability zones, so losing one
 * zone leaves the region's services and validators a place to run.
 */
import { ruleConfig } from "../../lib/config";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "min-zones-per-region",
  area: "topology",
  kind: "stack",
  scope: "network",
  description:
    "Each region (cloud/region) of the network spans at least minZones availability zones (default 2) across its sites.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "List at least two zones of the region under the site's zones in stacks/network.yaml (e.g. zones: [us-east-1a, us-east-1b]) and spread the site's validators over them.",
  configSchema: {
    properties: {
      minZones: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Zones a region must span.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { minZones } = ruleConfig<{ minZones: number }>(rule, args.getConfig());
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) reportViolation(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0)
      args.notApplicable("no drstack topology ConfigMap in this stack");
    for (const doc of docs) {
      const byRegion = new Map<string, { zones: Set<string>; sites: string[] }>();
      for (const s of doc.network.sites) {
        const key = `${s.cloud}/${s.region}`;
        const e = byRegion.get(key) ?? { zones: new Set<string>(), sites: [] };
        for (const z of s.zones ?? []) e.zones.add(z);
        e.sites.push(s.name);
        byRegion.set(key, e);
      }
      for (const [key, e] of byRegion) {
        if (e.zones.size < minZones) {
          reportViolation(
            `${key} (sites ${e.sites.join(", ")}) spans ${e.zones.size} zone${e.zones.size === 1 ? "" : "s"} (${[...e.zones].join(", ") || "none"}); at least ${minZones} are required so one zone outage does not take the region down`,
            doc.urn,
          );
        }
      }
    }
  },
};
