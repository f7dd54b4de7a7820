/**
 * Pure parts of the managed clusters (docs/clusters.md): subnet layout, node groups per zone,
 * the kubeconfigs the site's Kubernetes provider is built from, StorageClasses, and the identity
 * documents (IRSA trust, least-privilege bucket access). The components turn them into resources;
 * the policy rules read the same shapes back from the recorded inputs.
 */
import { formatCidr, parseCidr, subnet } from "../topology/cidr";
import type { ManagedCluster } from "../topology/managedCluster";
import type { Site } from "../topology/model";

/** A Kubernetes ServiceAccount that gets the site's cloud identity for the backup buckets. */
export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface AwsNetworkPlan {
  readonly vpcCidr: string;
  /** One private subnet per zone (nodes live here), in the site's zone order. */
  readonly private: readonly { readonly zone: string; readonly cidr: string }[];
  /** One public subnet per zone (NAT gateways and public load balancers only). */
  readonly public: readonly { readonly zone: string; readonly cidr: string }[];
  /** Zones with a NAT gateway: every zone (`per-zone`) or the first (`single`). */
  readonly natZones: readonly string[];
}

/** The VPC cut into /prefix+4 blocks: private subnets 0..5, public subnets 8..13. */
export function awsNetworkPlan(m: ManagedCluster, zones: readonly string[]): AwsNetworkPlan {
  const vpc = parseCidr(m.networkCidr);
  if (!vpc)
    throw new Error(`invalid networkCidr ${m.networkCidr} (validation should have caught this)`);
  return {
    vpcCidr: formatCidr(vpc),
    private: zones.map((zone, i) => ({ zone, cidr: formatCidr(subnet(vpc, 4, i)) })),
    public: zones.map((zone, i) => ({ zone, cidr: formatCidr(subnet(vpc, 4, 8 + i)) })),
    natZones: m.nat === "single" ? zones.slice(0, 1) : [...zones],
  };
}

/** A DNS-label-safe resource name, at most `max` characters. */
export function clusterName(networkName: string, site: Site, max = 40): string {
  return `${networkName}-${site.name}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, max)
    .replace(/-+$/, "");
}

/** Zone suffix used in resource names (`us-east-1a` -> `a`, `europe-west1-b` -> `b`). */
export function zoneSuffix(zone: string, region: string): string {
  return zone.startsWith(region) ? zone.slice(region.length).replace(/^-/, "") || zone : zone;
}

/**
 * A kubeconfig for an EKS cluster: the token comes from `aws eks get-token` (the deployer's AWS
 * credentials; the cluster creator is its admin), never a static credential.
 */
export function eksKubeconfig(a: {
  name: string;
  endpoint: string;
  caData: string;
  region: string;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: a.name, cluster: { server: a.endpoint, "certificate-authority-data": a.caData } },
    ],
    contexts: [{ name: a.name, context: { cluster: a.name, user: a.name } }],
    "current-context": a.name,
    users: [
      {
        name: a.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: [
              "eks",
              "get-token",
              "--cluster-name",
              a.name,
              "--region",
              a.region,
              "--output",
              "json",
            ],
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

/** A kubeconfig for a GKE cluster, authenticated by gke-gcloud-auth-plugin (no static credential). */
export function gkeKubeconfig(a: { name: string; endpoint: string; caData: string }): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: a.name,
        cluster: { server: `https://${a.endpoint}`, "certificate-authority-data": a.caData },
      },
    ],
    contexts: [{ name: a.name, context: { cluster: a.name, user: a.name } }],
    "current-context": a.name,
    users: [
      {
        name: a.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "gke-gcloud-auth-plugin",
            provideClusterInfo: true,
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

export const STORAGE_CLASS_NAME = "drstack-ssd";

/** The site's default StorageClass: gp3 (EBS CSI) or pd-balanced (GCE PD CSI), bound in the pod's zone. */
export function storageClassSpec(cloud: Site["cloud"]): {
  provisioner: string;
  parameters: Record<string, string>;
  volumeBindingMode: "WaitForFirstConsumer";
  reclaimPolicy: "Retain";
  allowVolumeExpansion: true;
} {
  return {
    provisioner: cloud === "aws" ? "ebs.csi.aws.com" : "pd.csi.storage.gke.io",
    parameters:
      cloud === "aws"
        ? { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" }
        : { type: "pd-balanced", "csi.storage.k8s.io/fstype": "ext4" },
    // A volume is created in the zone its first pod is scheduled to, never in a zone the pod
    // cannot reach; Retain keeps the data when a claim is deleted by mistake.
    volumeBindingMode: "WaitForFirstConsumer",
    reclaimPolicy: "Retain",
    allowVolumeExpansion: true,
  };
}

/** Host part of an OIDC issuer URL (`https://oidc.eks...` -> `oidc.eks...`). */
export function issuerHost(issuer: string): string {
  return issuer.replace(/^https:\/\//, "");
}

/** IRSA trust policy: only the listed ServiceAccounts of this cluster may assume the role. */
export function irsaTrustPolicy(
  providerArn: string,
  issuer: string,
  subjects: readonly WorkloadIdentity[],
): Record<string, unknown> {
  const host = issuerHost(issuer);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${host}:aud`]: "sts.amazonaws.com",
            [`${host}:sub`]: subjects.map(
              (s) => `system:serviceaccount:${s.namespace}:${s.serviceAccount}`,
            ),
          },
        },
      },
    ],
  };
}

/**
 * Least privilege for backup jobs and WAL archiving: list and object read/write/delete on the
 * backup buckets only (pgBackRest expires old backups itself), and the S3 bucket keys only through
 * S3 in the buckets' regions.
 */
export function bucketAccessPolicy(
  buckets: readonly { readonly name: string; readonly region: string }[],
): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListBackupBuckets",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketVersions"],
        Resource: buckets.map((b) => `arn:aws:s3:::${b.name}`),
      },
      {
        Sid: "ReadWriteBackupObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
        Resource: buckets.map((b) => `arn:aws:s3:::${b.name}/*`),
      },
      {
        Sid: "BucketKeysThroughS3",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: "*",
        Condition: {
          StringEquals: {
            "kms:ViaService": [...new Set(buckets.map((b) => `s3.${b.region}.amazonaws.com`))],
          },
        },
      },
    ],
  };
}

/** Trust policy letting an AWS service (`eks`, `ec2`) assume a role. */
export function serviceTrustPolicy(service: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: `${service}.amazonaws.com` },
        Action: "sts:AssumeRole",
      },
    ],
  };
}

/** The GKE workload identity member of a Kubernetes ServiceAccount. */
export function gkeWorkloadMember(project: string, w: WorkloadIdentity): string {
  return `serviceAccount:${project}.svc.id.goog[${w.namespace}/${w.serviceAccount}]`;
}

/** The GKE service agent, which encrypts Secrets with the cluster's Cloud KMS key. */
export function gkeServiceAgent(projectNumber: string): string {
  return `serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`;
}

/** GCP account ids: 6-30 characters, a letter first. */
export function gcpAccountId(base: string, suffix: string): string {
  const room = 30 - suffix.length - 1;
  const head = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, room)
    .replace(/-+$/, "");
  return `${/^[a-z]/.test(head) ? head : `d${head}`.slice(0, room)}-${suffix}`;
}
