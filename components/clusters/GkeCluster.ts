/**
 * `drstack:clusters:GkeCluster`: the regional GKE cluster of a managed GCP site
 * (docs/clusters.md): a VPC subnet with pod and service ranges, Cloud NAT for the private nodes,
 * application-layer Secrets encryption with a Cloud KMS key (protected), private nodes, the
 * endpoint private or restricted to declared CIDRs, Workload Identity, one node pool per zone, and
 * a Google service account for the backup workloads with access to the backup buckets only.
 */
import { Cluster } from "@pulumi/gcp/container/cluster";
import { NodePool } from "@pulumi/gcp/container/nodePool";
import { Network } from "@pulumi/gcp/compute/network";
import { Router } from "@pulumi/gcp/compute/router";
import { RouterNat } from "@pulumi/gcp/compute/routerNat";
import { Subnetwork } from "@pulumi/gcp/compute/subnetwork";
import { CryptoKey } from "@pulumi/gcp/kms/cryptoKey";
import { CryptoKeyIAMMember } from "@pulumi/gcp/kms/cryptoKeyIAMMember";
import { KeyRing } from "@pulumi/gcp/kms/keyRing";
import { IAMMember as ProjectIAMMember } from "@pulumi/gcp/projects/iammember";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import { Account } from "@pulumi/gcp/serviceaccount/account";
import { IAMMember as AccountIAMMember } from "@pulumi/gcp/serviceaccount/iammember";
import { BucketIAMMember } from "@pulumi/gcp/storage/bucketIAMMember";
import * as pulumi from "@pulumi/pulumi";
import type { ManagedCluster } from "../topology/managedCluster";
import type { Site } from "../topology/model";
import {
  clusterName,
  gcpAccountId,
  gkeKubeconfig,
  gkeServiceAgent,
  gkeWorkloadMember,
  type WorkloadIdentity,
  zoneSuffix,
} from "./plan";

export interface GkeClusterArgs {
  readonly networkName: string;
  readonly site: Site;
  /** Validated: `project` and `projectNumber` are set for GCP. */
  readonly settings: ManagedCluster;
  /** ServiceAccounts bound to the backup Google service account. Default: none. */
  readonly workloads?: readonly WorkloadIdentity[];
  /** GCS buckets those workloads read and write. Default: none. */
  readonly buckets?: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Roles the nodes' own service account needs (logs, metrics, images), instead of the default compute SA. */
export const NODE_ROLES = [
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
  "roles/stackdriver.resourceMetadata.writer",
  "roles/artifactregistry.reader",
] as const;

export class GkeCluster extends pulumi.ComponentResource {
  readonly clusterName: string;
  readonly cluster: Cluster;
  readonly nodePools: NodePool[] = [];
  /** The kubeconfig of the cluster (a secret); the site's Kubernetes provider is built from it. */
  readonly kubeconfig: pulumi.Output<string>;
  /** ServiceAccount annotations that bind a workload to the backup Google service account. */
  readonly identityAnnotations: Record<string, pulumi.Input<string>> = {};
  readonly ready: pulumi.Resource[] = [];
  private backupAccount?: Account;
  private backupEmail?: string;
  private pendingBuckets: string[] = [];
  private child?: pulumi.CustomResourceOptions;
  private baseName = "";

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:clusters:GkeCluster", name, {}, opts);
    const { site, settings: m } = args;
    const project = m.project!;
    const cn = clusterName(args.networkName, site);
    this.clusterName = cn;
    const provider = new GcpProvider(
      `${name}-gcp`,
      { project, region: site.region, defaultLabels: gcpLabels(args.labels) },
      { parent: this },
    );
    const child = { parent: this, provider };
    const sfx = (z: string) => zoneSuffix(z, site.region);

    // Application-layer Secrets encryption: the GKE service agent may use the key, nobody else.
    const ring = new KeyRing(
      `${name}-keyring`,
      { name: `${cn}-gke`, location: site.region },
      { ...child, protect: true },
    );
    const key = new CryptoKey(
      `${name}-secrets-key`,
      {
        name: `${cn}-secrets`,
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: "7776000s",
      },
      { ...child, protect: true },
    );
    const keyName = key.name.apply(
      (k) => `projects/${project}/locations/${site.region}/keyRings/${cn}-gke/cryptoKeys/${k}`,
    );
    const keyGrant = new CryptoKeyIAMMember(
      `${name}-secrets-key-gke`,
      {
        cryptoKeyId: keyName,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member: gkeServiceAgent(m.projectNumber!),
      },
      child,
    );

    const network = new Network(
      `${name}-vpc`,
      { name: cn, autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      child,
    );
    const subnet = new Subnetwork(
      `${name}-subnet`,
      {
        name: `${cn}-nodes`,
        network: network.id,
        region: site.region,
        ipCidrRange: m.networkCidr,
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: "pods", ipCidrRange: m.podsCidr },
          { rangeName: "services", ipCidrRange: m.servicesCidr },
        ],
      },
      child,
    );
    // Private nodes have no public IP: egress (images, object store) goes through Cloud NAT.
    const router = new Router(
      `${name}-router`,
      { name: `${cn}-router`, network: network.id, region: site.region },
      child,
    );
    new RouterNat(
      `${name}-nat`,
      {
        name: `${cn}-nat`,
        router: router.name,
        region: site.region,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: subnet.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
      },
      child,
    );

    this.cluster = new Cluster(
      `${name}-gke`,
      {
        name: cn,
        location: site.region,
        nodeLocations: [...site.zones],
        network: network.id,
        subnetwork: subnet.id,
        minMasterVersion: m.version,
        releaseChannel: { channel: "REGULAR" },
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: {
          clusterSecondaryRangeName: "pods",
          servicesSecondaryRangeName: "services",
        },
        privateClusterConfig: {
          enablePrivateNodes: true,
          enablePrivateEndpoint: !m.endpoint.public,
          masterIpv4CidrBlock: m.controlPlaneCidr,
        },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: m.endpoint.allowedCidrs.map((c) => ({
            cidrBlock: c,
            displayName: "declared",
          })),
          gcpPublicCidrsAccessEnabled: false,
        },
        databaseEncryption: { state: "ENCRYPTED", keyName },
        workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
        addonsConfig: { gcePersistentDiskCsiDriverConfig: { enabled: true } },
        datapathProvider: "ADVANCED_DATAPATH",
        enableShieldedNodes: true,
        deletionProtection: true,
      },
      { ...child, dependsOn: [keyGrant] },
    );

    const nodeSa = new Account(
      `${name}-nodes-sa`,
      { accountId: gcpAccountId(cn, "nodes"), displayName: `GKE nodes of ${cn}` },
      child,
    );
    const nodeEmail = `${gcpAccountId(cn, "nodes")}@${project}.iam.gserviceaccount.com`;
    const nodeRoles = NODE_ROLES.map(
      (role) =>
        new ProjectIAMMember(
          `${name}-nodes-${role.split("/")[1].replace(/\./g, "-")}`,
          { project, role, member: `serviceAccount:${nodeEmail}` },
          { ...child, dependsOn: [nodeSa] },
        ),
    );
    // One node pool per zone, so a zone's loss or an upgrade in one zone leaves the others.
    for (const zone of site.zones) {
      this.nodePools.push(
        new NodePool(
          `${name}-pool-${sfx(zone)}`,
          {
            name: `${cn}-${sfx(zone)}`.slice(0, 40),
            cluster: this.cluster.id,
            location: site.region,
            nodeLocations: [zone],
            // With autoscaling, the initial count only (nodeCount would fight the autoscaler).
            initialNodeCount: m.nodes.desiredPerZone,
            autoscaling: { minNodeCount: m.nodes.minPerZone, maxNodeCount: m.nodes.maxPerZone },
            management: { autoRepair: true, autoUpgrade: true },
            networkConfig: { enablePrivateNodes: true },
            nodeConfig: {
              machineType: m.nodes.machineType,
              diskSizeGb: m.nodes.diskGiB,
              diskType: "pd-balanced",
              serviceAccount: nodeEmail,
              oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
              workloadMetadataConfig: { mode: "GKE_METADATA" },
              shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
              labels: { "drstack.io/site": site.name },
            },
          },
          { ...child, dependsOn: nodeRoles },
        ),
      );
    }
    this.ready.push(...this.nodePools);

    if (args.workloads?.length && args.buckets?.length) {
      const id = gcpAccountId(cn, "backup");
      this.backupEmail = `${id}@${project}.iam.gserviceaccount.com`;
      this.backupAccount = new Account(
        `${name}-backup-sa`,
        { accountId: id, displayName: `drstack backups of ${cn}` },
        child,
      );
      for (const w of args.workloads)
        new AccountIAMMember(
          `${name}-backup-wi-${w.namespace}-${w.serviceAccount}`,
          {
            serviceAccountId: this.backupAccount.name,
            role: "roles/iam.workloadIdentityUser",
            member: gkeWorkloadMember(project, w),
          },
          { ...child, dependsOn: [this.cluster] },
        );
      this.identityAnnotations["iam.gke.io/gcp-service-account"] = this.backupEmail;
      this.pendingBuckets = [...args.buckets];
      this.child = child;
      this.baseName = name;
    }

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([this.cluster.name, this.cluster.endpoint, this.cluster.masterAuth])
        .apply(([n, endpoint, auth]) =>
          gkeKubeconfig({ name: n, endpoint, caData: auth?.clusterCaCertificate ?? "" }),
        ),
    );
    this.registerOutputs({ clusterName: cn, kubeconfig: this.kubeconfig });
  }

  /**
   * Grants the backup service account objectAdmin on the backup buckets only (pgBackRest expires
   * its own old backups), once the buckets exist (`buckets` is what creates them).
   */
  grantBucketAccess(buckets: readonly pulumi.Resource[]): void {
    if (!this.backupAccount || !this.child) return;
    for (const bucket of this.pendingBuckets)
      new BucketIAMMember(
        `${this.baseName}-backup-${bucket}`,
        { bucket, role: "roles/storage.objectAdmin", member: `serviceAccount:${this.backupEmail}` },
        { ...this.child, dependsOn: [this.backupAccount, ...buckets] },
      );
    this.pendingBuckets = [];
  }
}

/** GCP label keys and values: lower-case letters, digits, `_` and `-`, at most 63 characters. */
function gcpLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, "_")
      .slice(0, 63);
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [clean(k), clean(v)]));
}
