/**
 * A standby site that runs a data service must hold a current copy of the primary's data: its
 * Patroni cluster a standby cluster of the primary, its Redis a replica of the primary's. Else the
 * stack swap would make it serve writes (or reads) from an empty or stale database.
 */
import { factsFromResources } from "../../../analyze";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "standby-current-copy",
  area: "analysis",
  kind: "stack",
  scope: "network",
  description:
    "Every standby site that runs postgres runs it as a Patroni standby cluster of the primary, and every standby site that runs redis runs it as a replica of the primary's master, so the stack swap never hands a service to a site without a current copy of its data.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Leave drstack:postgres primaryStack pointing at the primary (the standby cluster follows it) and set drstack:redis standby.mode to replica (the default) on standby sites; or remove the service from the standby site's services in stacks/network.yaml.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) report(e.message, e.urn);
    if (docs.length === 0 && errors.length === 0) {
      args.notApplicable("no drstack topology ConfigMap in this stack");
      return;
    }
    let checked = 0;
    for (const doc of docs) {
      const facts = factsFromResources(doc.network, args.resources);
      for (const site of doc.network.sites) {
        if (site.role !== "standby") continue;
        const f = facts.get(site.name);
        if (f?.postgres) {
          checked++;
          if (!f.postgres.standbyCluster)
            report(
              `standby site ${site.name} runs PostgreSQL as an independent cluster (no standby_cluster in its Patroni config): a stack swap to ${site.name} would serve writes without the primary's data`,
              doc.urn,
            );
        }
        if (f?.redis) {
          checked++;
          if (!f.redis.replicaOfOtherSite)
            report(
              `standby site ${site.name} runs Redis independently (not a replica of the primary's master): a stack swap to ${site.name} would serve Redis without the primary's data`,
              doc.urn,
            );
        }
      }
    }
    if (checked === 0) args.notApplicable("no standby site's data services in these resources");
  },
};
