/**
 * The configuration can meet every recovery objective the network declares: the failure-domain
 * analysis (analyze/) derives each domain's achievable RTO and RPO from the rendered settings
 * (Patroni timing and its floors, Sentinel timing, replication, archiving, backup schedules,
 * bucket replication, the stack swap) and any bound above the declared objective is a violation.
 */
import { analyzeResources } from "../../../analyze";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "objective-achievable",
  area: "analysis",
  kind: "stack",
  scope: "network",
  description:
    "Every recovery objective in the network file (node, zone, region, full, corruption) is achievable: the bound the analysis derives from the rendered settings for each failure domain is within it. Needs every data site's resources (drstack policy --all).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Run drstack analyze: each missed objective names the bound, its formula and the setting to change (e.g. lower drstack:postgres ttl/loopWait/retryTimeout, drstack:redis downAfterMilliseconds, turn on synchronousMode); or declare an objective the configuration can meet.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) report(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0) {
      args.notApplicable("no drstack topology ConfigMap in this stack");
      return;
    }
    for (const doc of docs) {
      const a = analyzeResources(doc.network, args.resources);
      if (a.unknownSites.length > 0) {
        args.notApplicable(
          `needs the resources of every data site (missing ${a.unknownSites.join(", ")}): run drstack policy --all`,
        );
        continue;
      }
      for (const d of a.domains)
        for (const c of d.checks)
          if (c.verdict === "missed")
            report(
              `losing ${d.domain.kind} ${d.domain.name}: ${c.scenario} ${c.what.toUpperCase()} ${c.declared} cannot be met, the configuration achieves ${c.achievable!.formula}; change: ${c.fix}`,
              doc.urn,
            );
      for (const c of a.global)
        if (c.verdict === "missed")
          report(
            `${c.scenario} ${c.what.toUpperCase()} ${c.declared} cannot be met, the configuration achieves ${c.achievable!.formula}; change: ${c.fix}`,
            doc.urn,
          );
    }
  },
};
