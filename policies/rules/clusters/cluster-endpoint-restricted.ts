/** A managed cluster's API endpoint is private, or public only to declared CIDRs (never 0.0.0.0/0). */
import {
  clusterLabel,
  managedClusters,
  openEndpoint,
  type ClusterRes,
} from "../../../components/clusters/inspect";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cluster-endpoint-restricted",
  area: "clusters",
  kind: "stack",
  description:
    "The Kubernetes API endpoint of every managed cluster is private, or public only to declared CIDRs: never open to 0.0.0.0/0 (EKS publicAccessCidrs, GKE master authorized networks).",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "In network.yaml set kubernetes.managed.endpoint.public: false (the default), or list your operators' and CI's ranges in endpoint.allowedCidrs. For your own EKS cluster set vpcConfig.endpointPublicAccess false or publicAccessCidrs; for GKE set privateClusterConfig.enablePrivateEndpoint or masterAuthorizedNetworksConfig.cidrBlocks.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const clusters = managedClusters(args.resources as unknown as ClusterRes[]);
    if (clusters.length === 0) args.notApplicable("no managed Kubernetes cluster in this stack");
    for (const c of clusters) {
      const why = openEndpoint(c);
      if (why) report(`cluster ${clusterLabel(c)}: ${why}`, c.urn);
    }
  },
};
