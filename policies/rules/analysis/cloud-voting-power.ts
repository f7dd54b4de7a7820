/**
 * No cloud provider may hold the configured share (default 1/3) or more of the voting power:
 * losing that provider (an outage of all its regions, an account suspension) would halt
 * consensus. With two clouds one of them always holds at least half, so this rule is advisory by
 * default and made mandatory in the policy config once the network spans three providers.
 */
import { powerBy } from "../../../analyze/domains";
import {
  atLeast,
  formatFraction,
  formatPercent,
  parseFraction,
} from "../../../components/topology/voting";
import { ruleConfig } from "../../lib/config";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cloud-voting-power",
  area: "analysis",
  kind: "stack",
  scope: "network",
  description:
    "No cloud provider may hold maxFraction (default 1/3) or more of the voting power: its loss would halt consensus. Advisory by default: with two providers one always holds at least 1/2.",
  severity: "critical",
  enforcementLevel: "advisory",
  remediationSteps:
    'Spread voting power over at least three providers so each holds strictly less than 1/3 (add validators-only sites on a third provider); with two providers a provider-wide outage halts the chain whatever the layout. Make the rule mandatory in the policy config ({"cloud-voting-power": "mandatory"}) once the network can pass it.',
  configSchema: {
    properties: {
      maxFraction: {
        type: "string",
        default: "1/3",
        pattern: "^\\s*(\\d+\\s*/\\s*\\d+|\\d+(\\.\\d+)?%?)\\s*$",
        description: "Share a cloud must stay strictly below (1/3, 0.3 or 30%).",
      },
    },
  },
  validateStack: (args, report) => {
    const { maxFraction } = ruleConfig<{ maxFraction: string }>(rule, args.getConfig());
    const limit = parseFraction(String(maxFraction));
    if (!limit || limit.num === 0n || limit.num > limit.den) {
      report(`config maxFraction ${JSON.stringify(maxFraction)} is not a fraction in (0, 1]`);
      return;
    }
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) report(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0)
      args.notApplicable("no drstack topology ConfigMap in this stack");
    for (const doc of docs) {
      const clouds = powerBy(doc.network, "cloud");
      const total = clouds.reduce((a, c) => a + c.power, 0n);
      for (const c of clouds) {
        if (!atLeast(c.power, total, limit)) continue;
        report(
          `cloud ${c.domain} holds ${formatFraction(c.share)} (${formatPercent(c.share)}) of the voting power of network ${doc.network.name} (power ${c.power} of ${total}, validators ${c.validators.join(", ") || "none"}), at or above ${formatFraction(limit)}: losing ${c.domain} would halt consensus`,
          doc.urn,
        );
      }
    }
  },
};
