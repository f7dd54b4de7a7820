/** Nodes of a managed cluster have no public IPs. */
import {
  clusterLabel,
  managedClusters,
  publicNodes,
  type ClusterRes,
} from "../../../components/clusters/inspect";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cluster-nodes-private",
  area: "clusters",
  kind: "stack",
  description:
    "Nodes of every managed cluster have no public IP: EKS node groups only in private subnets (no public IP on launch, no route to an internet gateway), GKE private nodes.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use kubernetes.managed (components/clusters): nodes go in private subnets with NAT egress (EKS) or are private nodes with Cloud NAT (GKE). For your own cluster put node groups in private subnets, and set privateClusterConfig.enablePrivateNodes (GKE).",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const resources = args.resources as unknown as ClusterRes[];
    const clusters = managedClusters(resources);
    if (clusters.length === 0) args.notApplicable("no managed Kubernetes cluster in this stack");
    for (const c of clusters)
      for (const { res, why } of publicNodes(resources, c))
        report(`cluster ${clusterLabel(c)}: ${res.name ?? res.urn} ${why}`, res.urn);
  },
};
