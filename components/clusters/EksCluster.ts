/**
 * `drstack:clusters:EksCluster`: the EKS cluster of a managed AWS site (docs/clusters.md): a VPC
 * with a private subnet per zone (nodes) and a public one per zone (NAT, public load balancers),
 * NAT per zone or one, Secrets encrypted with a customer KMS key (protected), the API endpoint
 * private or restricted to declared CIDRs, one managed node group per zone, the EBS CSI driver,
 * an IAM OIDC provider and an IRSA role for the backup workloads (least-privilege bucket access).
 */
import { Addon } from "@pulumi/aws/eks/addon";
import { Cluster } from "@pulumi/aws/eks/cluster";
import { NodeGroup } from "@pulumi/aws/eks/nodeGroup";
import { Eip } from "@pulumi/aws/ec2/eip";
import { InternetGateway } from "@pulumi/aws/ec2/internetGateway";
import { NatGateway } from "@pulumi/aws/ec2/natGateway";
import { RouteTable } from "@pulumi/aws/ec2/routeTable";
import { RouteTableAssociation } from "@pulumi/aws/ec2/routeTableAssociation";
import { Subnet } from "@pulumi/aws/ec2/subnet";
import { Vpc } from "@pulumi/aws/ec2/vpc";
import { OpenIdConnectProvider } from "@pulumi/aws/iam/openIdConnectProvider";
import { Role } from "@pulumi/aws/iam/role";
import { RolePolicy } from "@pulumi/aws/iam/rolePolicy";
import { RolePolicyAttachment } from "@pulumi/aws/iam/rolePolicyAttachment";
import { Key } from "@pulumi/aws/kms/key";
import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as pulumi from "@pulumi/pulumi";
import type { ManagedCluster } from "../topology/managedCluster";
import type { Site } from "../topology/model";
import {
  awsNetworkPlan,
  bucketAccessPolicy,
  clusterName,
  eksKubeconfig,
  irsaTrustPolicy,
  serviceTrustPolicy,
  type WorkloadIdentity,
  zoneSuffix,
} from "./plan";

export interface EksClusterArgs {
  readonly networkName: string;
  readonly site: Site;
  readonly settings: ManagedCluster;
  /** ServiceAccounts that get the backup role (IRSA). Default: none (no role). */
  readonly workloads?: readonly WorkloadIdentity[];
  /** Buckets (and their regions) those workloads read and write. Default: none. */
  readonly buckets?: readonly { readonly name: string; readonly region: string }[];
  /** Tags on every AWS resource. */
  readonly tags: Readonly<Record<string, string>>;
}

const MANAGED = "arn:aws:iam::aws:policy";
export const EBS_CSI_SERVICE_ACCOUNT = {
  namespace: "kube-system",
  serviceAccount: "ebs-csi-controller-sa",
};

export class EksCluster extends pulumi.ComponentResource {
  readonly clusterName: string;
  readonly cluster: Cluster;
  readonly nodeGroups: NodeGroup[] = [];
  /** The kubeconfig of the cluster (a secret); the site's Kubernetes provider is built from it. */
  readonly kubeconfig: pulumi.Output<string>;
  /** ServiceAccount annotations that give a workload the backup role (IRSA). */
  readonly identityAnnotations: Record<string, pulumi.Input<string>> = {};
  /** Resources the Kubernetes workloads wait for (node groups, CSI driver). */
  readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:clusters:EksCluster", name, {}, opts);
    const { site, settings: m } = args;
    const cn = clusterName(args.networkName, site);
    this.clusterName = cn;
    const provider = new AwsProvider(
      `${name}-aws`,
      { region: site.region as never, defaultTags: { tags: { ...args.tags } } },
      { parent: this },
    );
    const child = { parent: this, provider };
    const net = awsNetworkPlan(m, site.zones);
    const sfx = (z: string) => zoneSuffix(z, site.region);

    // Customer key for Secrets; protected: losing it makes every Secret of the cluster unreadable.
    const key = new Key(
      `${name}-secrets-key`,
      {
        description: `EKS Secrets encryption for ${cn}`,
        enableKeyRotation: true,
        deletionWindowInDays: m.keyDeletionDays,
      },
      { ...child, protect: true },
    );

    const vpc = new Vpc(
      `${name}-vpc`,
      {
        cidrBlock: net.vpcCidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: cn },
      },
      child,
    );
    const igw = new InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: cn } }, child);
    const publicRt = new RouteTable(
      `${name}-public-rt`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
        tags: { Name: `${cn}-public` },
      },
      child,
    );
    const publicSubnets = new Map<string, Subnet>();
    for (const s of net.public) {
      const sub = new Subnet(
        `${name}-public-${sfx(s.zone)}`,
        {
          vpcId: vpc.id,
          availabilityZone: s.zone,
          cidrBlock: s.cidr,
          mapPublicIpOnLaunch: false,
          tags: { Name: `${cn}-public-${sfx(s.zone)}`, "kubernetes.io/role/elb": "1" },
        },
        child,
      );
      new RouteTableAssociation(
        `${name}-public-${sfx(s.zone)}-rt`,
        { subnetId: sub.id, routeTableId: publicRt.id },
        child,
      );
      publicSubnets.set(s.zone, sub);
    }
    const nats = new Map<string, NatGateway>();
    for (const zone of net.natZones) {
      const eip = new Eip(
        `${name}-nat-${sfx(zone)}-ip`,
        { domain: "vpc", tags: { Name: `${cn}-nat-${sfx(zone)}` } },
        child,
      );
      nats.set(
        zone,
        new NatGateway(
          `${name}-nat-${sfx(zone)}`,
          {
            allocationId: eip.id,
            subnetId: publicSubnets.get(zone)!.id,
            tags: { Name: `${cn}-${sfx(zone)}` },
          },
          { ...child, dependsOn: [igw] },
        ),
      );
    }
    const privateSubnets: Subnet[] = [];
    for (const s of net.private) {
      const sub = new Subnet(
        `${name}-private-${sfx(s.zone)}`,
        {
          vpcId: vpc.id,
          availabilityZone: s.zone,
          cidrBlock: s.cidr,
          mapPublicIpOnLaunch: false,
          tags: {
            Name: `${cn}-private-${sfx(s.zone)}`,
            "kubernetes.io/role/internal-elb": "1",
          },
        },
        child,
      );
      // Egress through the zone's own NAT (per-zone) or the single one.
      const nat = nats.get(s.zone) ?? nats.get(net.natZones[0])!;
      const rt = new RouteTable(
        `${name}-private-${sfx(s.zone)}-rt`,
        {
          vpcId: vpc.id,
          routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
          tags: { Name: `${cn}-private-${sfx(s.zone)}` },
        },
        child,
      );
      new RouteTableAssociation(
        `${name}-private-${sfx(s.zone)}-rta`,
        { subnetId: sub.id, routeTableId: rt.id },
        child,
      );
      privateSubnets.push(sub);
    }

    const clusterRole = new Role(
      `${name}-cluster-role`,
      { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("eks")) },
      child,
    );
    const clusterPolicy = new RolePolicyAttachment(
      `${name}-cluster-policy`,
      { role: clusterRole.name, policyArn: `${MANAGED}/AmazonEKSClusterPolicy` },
      child,
    );
    this.cluster = new Cluster(
      `${name}-eks`,
      {
        name: cn,
        version: m.version,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: privateSubnets.map((s) => s.id),
          endpointPrivateAccess: true,
          endpointPublicAccess: m.endpoint.public,
          ...(m.endpoint.public ? { publicAccessCidrs: [...m.endpoint.allowedCidrs] } : {}),
        },
        encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
        enabledClusterLogTypes: ["api", "audit", "authenticator"],
        deletionProtection: true,
      },
      { ...child, dependsOn: [clusterPolicy] },
    );

    const nodeRole = new Role(
      `${name}-node-role`,
      { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2")) },
      child,
    );
    const nodePolicies = [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryReadOnly",
    ].map(
      (p) =>
        new RolePolicyAttachment(
          `${name}-node-${p}`,
          { role: nodeRole.name, policyArn: `${MANAGED}/${p}` },
          child,
        ),
    );
    // One node group per zone: losing a zone loses its group only, and the autoscaler can grow
    // each zone separately (a group over several zones cannot target one).
    net.private.forEach((s, i) => {
      this.nodeGroups.push(
        new NodeGroup(
          `${name}-nodes-${sfx(s.zone)}`,
          {
            clusterName: this.cluster.name,
            nodeGroupName: `${cn}-${sfx(s.zone)}`,
            nodeRoleArn: nodeRole.arn,
            subnetIds: [privateSubnets[i].id],
            version: m.version,
            instanceTypes: [m.nodes.machineType],
            diskSize: m.nodes.diskGiB,
            scalingConfig: {
              minSize: m.nodes.minPerZone,
              desiredSize: m.nodes.desiredPerZone,
              maxSize: m.nodes.maxPerZone,
            },
            updateConfig: { maxUnavailable: 1 },
            labels: { "drstack.io/site": site.name },
          },
          // The cluster autoscaler owns the current size; a later `up` must not reset it.
          { ...child, dependsOn: nodePolicies, ignoreChanges: ["scalingConfig.desiredSize"] },
        ),
      );
    });

    const issuer = this.cluster.identities.apply((ids) => ids?.[0]?.oidcs?.[0]?.issuer ?? "");
    const oidc = new OpenIdConnectProvider(
      `${name}-oidc`,
      { url: issuer, clientIdLists: ["sts.amazonaws.com"] },
      child,
    );
    const irsaRole = (role: string, subjects: readonly WorkloadIdentity[]) =>
      new Role(
        `${name}-${role}-role`,
        {
          assumeRolePolicy: pulumi
            .all([oidc.arn, issuer])
            .apply(([arn, iss]) => JSON.stringify(irsaTrustPolicy(arn, iss, subjects))),
        },
        child,
      );
    const ebsRole = irsaRole("ebs-csi", [EBS_CSI_SERVICE_ACCOUNT]);
    const ebsPolicy = new RolePolicyAttachment(
      `${name}-ebs-csi-policy`,
      { role: ebsRole.name, policyArn: `${MANAGED}/service-role/AmazonEBSCSIDriverPolicy` },
      child,
    );
    const ebs = new Addon(
      `${name}-ebs-csi`,
      {
        clusterName: this.cluster.name,
        addonName: "aws-ebs-csi-driver",
        serviceAccountRoleArn: ebsRole.arn,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
      },
      { ...child, dependsOn: [...this.nodeGroups, ebsPolicy] },
    );
    this.ready.push(...this.nodeGroups, ebs);

    if (args.workloads?.length && args.buckets?.length) {
      const backupRole = irsaRole("backup", args.workloads);
      new RolePolicy(
        `${name}-backup-buckets`,
        { role: backupRole.name, policy: JSON.stringify(bucketAccessPolicy(args.buckets)) },
        child,
      );
      this.identityAnnotations["eks.amazonaws.com/role-arn"] = backupRole.arn;
    }

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([this.cluster.name, this.cluster.endpoint, this.cluster.certificateAuthority])
        .apply(([n, endpoint, ca]) =>
          eksKubeconfig({ name: n, endpoint, caData: ca?.data ?? "", region: site.region }),
        ),
    );
    this.registerOutputs({ clusterName: cn, kubeconfig: this.kubeconfig });
  }
}
