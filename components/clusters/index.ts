/**
 * The managed cluster of a site (`kubernetes.managed` in network.yaml): EKS or GKE by the site's
 * cloud, with the cloud identity the backup workloads use. See docs/clusters.md.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BackupSettings } from "../backup/settings";
import { bucketNames } from "../storage/plan";
import type { Site } from "../topology/model";
import { EksCluster } from "./EksCluster";
import { GkeCluster } from "./GkeCluster";
import type { WorkloadIdentity } from "./plan";

export { EksCluster, GkeCluster };
export * from "./plan";

export interface SiteCluster {
  readonly component: EksCluster | GkeCluster;
  /** The created cluster's kubeconfig, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Annotations for the ServiceAccounts in `workloads` (IRSA role / GKE service account). */
  readonly identityAnnotations: Readonly<Record<string, pulumi.Input<string>>>;
  /** What the site's Kubernetes provider waits for (nodes, CSI driver). */
  readonly ready: readonly pulumi.Resource[];
}

/** The backup buckets a site's workloads write, by cloud (the replica exists on S3 and in GCS copy mode). */
export function backupBuckets(
  networkName: string,
  site: Site,
  backup: BackupSettings,
): { name: string; region: string }[] {
  const names = bucketNames(networkName, site, backup.bucketName);
  const primary = { name: names.primary, region: site.region };
  const replica = { name: names.replica, region: backup.replicaRegion };
  if (site.cloud === "aws") return [primary, replica];
  return backup.gcpReplication === "copy" ? [primary, replica] : [primary];
}

/** Creates the site's managed cluster as a child of `parent`; undefined for bring-your-own sites. */
export function buildManagedCluster(
  name: string,
  a: {
    readonly networkName: string;
    readonly site: Site;
    readonly workloads: readonly WorkloadIdentity[];
    readonly buckets: readonly { name: string; region: string }[];
    readonly labels: Readonly<Record<string, string>>;
  },
  parent: pulumi.Resource,
): SiteCluster | undefined {
  const m = a.site.kubernetes.managed;
  if (!m) return undefined;
  const component =
    a.site.cloud === "aws"
      ? new EksCluster(
          `${name}-cluster`,
          {
            networkName: a.networkName,
            site: a.site,
            settings: m,
            workloads: a.workloads,
            buckets: a.buckets,
            tags: a.labels,
          },
          { parent },
        )
      : new GkeCluster(
          `${name}-cluster`,
          {
            networkName: a.networkName,
            site: a.site,
            settings: m,
            workloads: a.workloads,
            buckets: a.buckets.map((b) => b.name),
            labels: a.labels,
          },
          { parent },
        );
  return {
    component,
    kubeconfig: component.kubeconfig,
    identityAnnotations: component.identityAnnotations,
    ready: component.ready,
  };
}
