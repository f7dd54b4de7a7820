/**
 * No region may hold one third (configurable) or more of the network's voting power: losing that
 * region would halt a CometBFT-style chain. Reads the topology every stack carries in its
 * topology ConfigMap (plain data, known at preview); the comparison is exact (bigint rationals).
 */
import {
  atLeast,
  formatFraction,
  formatPercent,
  fraction,
  parseFraction,
  powerByRegion,
} from "../../../components/topology/voting";
import { ruleConfig } from "../../lib/config";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "region-voting-power",
  area: "topology",
  kind: "stack",
  scope: "network",
  description:
    "No region (cloud/region) may hold the configured share (default 1/3) or more of the network's voting power; at the limit is already a violation.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Spread voting power so every region holds strictly less than the limit: add validators in another region (four regions at 25% each is the shipped layout; three equal regions cannot all stay below 1/3), move validators out of the region, or lower their votingPower in stacks/network.yaml.",
  configSchema: {
    properties: {
      maxFraction: {
        type: "string",
        default: "1/3",
        pattern: "^\\s*(\\d+\\s*/\\s*\\d+|\\d+(\\.\\d+)?%?)\\s*$",
        description:
          "Share a region must stay strictly below: a fraction (1/3), decimal (0.3) or percent (30%).",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { maxFraction } = ruleConfig<{ maxFraction: string }>(rule, args.getConfig());
    const limit = parseFraction(String(maxFraction));
    if (!limit || limit.num === 0n || limit.num > limit.den) {
      reportViolation(
        `config maxFraction ${JSON.stringify(maxFraction)} is not a fraction in (0, 1] such as 1/3, 0.3 or 30%`,
      );
      return;
    }
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) reportViolation(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0)
      args.notApplicable("no drstack topology ConfigMap in this stack");
    for (const doc of docs) {
      const dist = powerByRegion(doc.network);
      if (dist.total === 0n) {
        reportViolation(`network ${doc.network.name}: no voting power is declared`, doc.urn);
        continue;
      }
      for (const r of dist.regions) {
        if (!atLeast(r.power, dist.total, limit)) continue;
        const share = fraction(r.power, dist.total);
        reportViolation(
          `${r.key} holds ${formatFraction(share)} (${formatPercent(share)}) of the voting power of network ${doc.network.name} ` +
            `(power ${r.power} of ${dist.total}, validators ${r.validators.join(", ") || "none"}), at or above the limit ${formatFraction(limit)} (${formatPercent(limit)}): losing ${r.region} would halt consensus`,
          doc.urn,
        );
      }
    }
  },
};
