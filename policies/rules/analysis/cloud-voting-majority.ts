/**
 * No cloud provider holds more than half of the voting power: such a provider alone decides
 * whether the chain can ever reach 2/3 again, and a provider-wide outage of it needs more than the
 * whole rest of the network to recover from.
 */
import { powerBy } from "../../../analyze/domains";
import {
  atLeast,
  formatFraction,
  formatPercent,
  fraction,
} from "../../../components/topology/voting";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cloud-voting-majority",
  area: "analysis",
  kind: "stack",
  scope: "network",
  description: "No cloud provider holds more than half of the network's voting power.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps:
    "Move validators (or voting power) from the largest provider to the others in stacks/network.yaml until it holds at most half.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) report(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0)
      args.notApplicable("no drstack topology ConfigMap in this stack");
    for (const doc of docs) {
      const clouds = powerBy(doc.network, "cloud");
      const total = clouds.reduce((a, c) => a + c.power, 0n);
      for (const c of clouds) {
        // More than half: power/total > 1/2, i.e. not below-or-at 1/2.
        if (!atLeast(c.power, total, fraction(1, 2)) || c.power * 2n === total) continue;
        report(
          `cloud ${c.domain} holds ${formatFraction(c.share)} (${formatPercent(c.share)}) of the voting power of network ${doc.network.name} (power ${c.power} of ${total}), more than half`,
          doc.urn,
        );
      }
    }
  },
};
