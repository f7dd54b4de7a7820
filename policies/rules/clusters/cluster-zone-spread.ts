/** A managed cluster's nodes span at least two zones, so losing one zone leaves nodes to run on. */
import {
  clusterLabel,
  managedClusters,
  nodeZones,
  type ClusterRes,
} from "../../../components/clusters/inspect";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cluster-zone-spread",
  area: "clusters",
  kind: "stack",
  description:
    "The node groups (EKS) or node pools (GKE) of every managed cluster together cover at least two zones.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "List two or more zones for the site in network.yaml: kubernetes.managed creates one node group / node pool per zone. For your own cluster, give each zone a node group whose subnets are in that zone (EKS) or set nodeLocations per pool (GKE).",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const resources = args.resources as unknown as ClusterRes[];
    const clusters = managedClusters(resources);
    if (clusters.length === 0) args.notApplicable("no managed Kubernetes cluster in this stack");
    for (const c of clusters) {
      const zones = nodeZones(resources, c);
      if (zones.length < 2)
        report(
          `cluster ${clusterLabel(c)} has nodes in ${zones.length === 0 ? "no zone" : `only ${zones.join(", ")}`}: losing that zone loses every node`,
          c.urn,
        );
    }
  },
};
