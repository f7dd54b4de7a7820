/** Kubernetes Secrets of a managed cluster are encrypted with a customer-managed key. */
import {
  clusterLabel,
  managedClusters,
  secretsNotCustomerEncrypted,
  type ClusterRes,
} from "../../../components/clusters/inspect";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "cluster-secrets-encrypted",
  area: "clusters",
  kind: "stack",
  description:
    "Every managed cluster encrypts Kubernetes Secrets with a customer-managed key: EKS encryptionConfig for `secrets` with a KMS key, GKE application-layer secrets encryption (databaseEncryption ENCRYPTED with a Cloud KMS key).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use kubernetes.managed (components/clusters), which creates a protected KMS / Cloud KMS key for Secrets. For your own EKS cluster set encryptionConfig { resources: [secrets], provider.keyArn }; for GKE set databaseEncryption { state: ENCRYPTED, keyName } and grant the GKE service agent the key.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const clusters = managedClusters(args.resources as unknown as ClusterRes[]);
    if (clusters.length === 0) args.notApplicable("no managed Kubernetes cluster in this stack");
    for (const c of clusters) {
      const why = secretsNotCustomerEncrypted(c);
      if (why)
        report(
          `cluster ${clusterLabel(c)} ${why}: Secrets are not encrypted with a customer key`,
          c.urn,
        );
    }
  },
};
