/**
 * Reads managed clusters back from resource props (what policies see: planner records, or the
 * Pulumi analyzer's resources). Pure; works on any `{ type, props, urn, dependencies }`.
 * Node groups are tied to their subnets and clusters through dependencies, which are known in a
 * preview even when the IDs are not.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export interface ClusterRes {
  readonly type: string;
  readonly urn: string;
  readonly name?: string;
  readonly props: Obj;
  readonly dependencies?: readonly { readonly urn: string }[];
}

export const CLUSTER_TYPES = {
  eks: "aws:eks/cluster:Cluster",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  subnet: "aws:ec2/subnet:Subnet",
  routeTable: "aws:ec2/routeTable:RouteTable",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  gke: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
} as const;

export const OPEN = ["0.0.0.0/0", "::/0"];

function dependsOn(r: ClusterRes, target: ClusterRes): boolean {
  return (r.dependencies ?? []).some((d) => d.urn === target.urn);
}

export function clusterLabel(r: ClusterRes): string {
  return String(r.props.name ?? r.name ?? r.urn.split("::").pop());
}

/** EKS node groups of a cluster: by its name, or by depending on it. */
export function eksNodeGroups(resources: readonly ClusterRes[], cluster: ClusterRes): ClusterRes[] {
  return resources.filter(
    (r) =>
      r.type === CLUSTER_TYPES.nodeGroup &&
      (dependsOn(r, cluster) ||
        (r.props.clusterName !== undefined && r.props.clusterName === cluster.props.name)),
  );
}

/** The subnets a node group is placed in (the subnets it depends on). */
export function nodeGroupSubnets(
  resources: readonly ClusterRes[],
  group: ClusterRes,
): ClusterRes[] {
  return resources.filter((r) => r.type === CLUSTER_TYPES.subnet && dependsOn(group, r));
}

/** GKE node pools of a cluster: by depending on it, or by its id/name. */
export function gkeNodePools(resources: readonly ClusterRes[], cluster: ClusterRes): ClusterRes[] {
  const name = String(cluster.props.name ?? "");
  return resources.filter(
    (r) =>
      r.type === CLUSTER_TYPES.nodePool &&
      (dependsOn(r, cluster) ||
        (name !== "" &&
          (r.props.cluster === name ||
            String(r.props.cluster ?? "").endsWith(`/clusters/${name}`)))),
  );
}

/** Zones a managed cluster's nodes can run in (node groups / node pools together). */
export function nodeZones(resources: readonly ClusterRes[], cluster: ClusterRes): string[] {
  const zones = new Set<string>();
  if (cluster.type === CLUSTER_TYPES.eks) {
    for (const g of eksNodeGroups(resources, cluster))
      for (const s of nodeGroupSubnets(resources, g))
        if (typeof s.props.availabilityZone === "string") zones.add(s.props.availabilityZone);
  } else {
    for (const p of gkeNodePools(resources, cluster)) {
      const locs = (p.props.nodeLocations ?? cluster.props.nodeLocations ?? []) as unknown[];
      for (const z of locs) if (typeof z === "string") zones.add(z);
    }
  }
  return [...zones].sort();
}

/** Why the cluster's API endpoint is reachable from anywhere, or undefined when it is not. */
export function openEndpoint(cluster: ClusterRes): string | undefined {
  if (cluster.type === CLUSTER_TYPES.eks) {
    const v = (cluster.props.vpcConfig ?? {}) as Obj;
    // EKS defaults: public endpoint on, open to 0.0.0.0/0.
    if (v.endpointPublicAccess === false) return undefined;
    const cidrs = (v.publicAccessCidrs ?? []) as string[];
    if (cidrs.length === 0)
      return "its public endpoint has no publicAccessCidrs (EKS then allows 0.0.0.0/0)";
    const open = cidrs.filter((c) => OPEN.includes(c));
    return open.length ? `its public endpoint allows ${open.join(", ")}` : undefined;
  }
  const p = (cluster.props.privateClusterConfig ?? {}) as Obj;
  if (p.enablePrivateEndpoint === true) return undefined;
  const m = cluster.props.masterAuthorizedNetworksConfig as Obj | undefined;
  if (!m) return "its public endpoint has no masterAuthorizedNetworksConfig (open to any address)";
  const open = ((m.cidrBlocks ?? []) as Obj[])
    .map((b) => String(b.cidrBlock))
    .filter((c) => OPEN.includes(c));
  if (open.length) return `its public endpoint allows ${open.join(", ")}`;
  if (m.gcpPublicCidrsAccessEnabled === true)
    return "its public endpoint allows every Google Cloud public IP (gcpPublicCidrsAccessEnabled)";
  return undefined;
}

/** Why Kubernetes Secrets of the cluster are not encrypted with a customer key, or undefined. */
export function secretsNotCustomerEncrypted(cluster: ClusterRes): string | undefined {
  if (cluster.type === CLUSTER_TYPES.eks) {
    const e = cluster.props.encryptionConfig as Obj | undefined;
    if (!e) return "has no encryptionConfig";
    if (!((e.resources ?? []) as string[]).includes("secrets"))
      return "does not encrypt the secrets resource";
    if (!e.provider?.keyArn) return "has no KMS key (encryptionConfig.provider.keyArn)";
    return undefined;
  }
  const d = cluster.props.databaseEncryption as Obj | undefined;
  if (!d || d.state !== "ENCRYPTED") return "does not set databaseEncryption.state ENCRYPTED";
  if (!d.keyName) return "has no Cloud KMS key (databaseEncryption.keyName)";
  return undefined;
}

/** Node groups / pools whose nodes get public IPs, each with the reason. */
export function publicNodes(
  resources: readonly ClusterRes[],
  cluster: ClusterRes,
): { res: ClusterRes; why: string }[] {
  const out: { res: ClusterRes; why: string }[] = [];
  if (cluster.type === CLUSTER_TYPES.eks) {
    for (const g of eksNodeGroups(resources, cluster)) {
      for (const s of nodeGroupSubnets(resources, g)) {
        const sn = String(s.name ?? s.props.cidrBlock);
        if (s.props.mapPublicIpOnLaunch === true)
          out.push({ res: g, why: `subnet ${sn} maps public IPs on launch` });
        const tables = resources.filter(
          (a) => a.type === CLUSTER_TYPES.routeTableAssociation && dependsOn(a, s),
        );
        for (const a of tables)
          for (const rt of resources.filter(
            (t) => t.type === CLUSTER_TYPES.routeTable && dependsOn(a, t),
          ))
            if (
              ((rt.props.routes ?? []) as Obj[]).some(
                (r) => OPEN.includes(r.cidrBlock) && r.gatewayId,
              )
            )
              out.push({
                res: g,
                why: `subnet ${sn} routes 0.0.0.0/0 to an internet gateway (a public subnet)`,
              });
      }
    }
    return out;
  }
  const clusterPrivate = cluster.props.privateClusterConfig?.enablePrivateNodes === true;
  for (const p of gkeNodePools(resources, cluster)) {
    const poolSetting = p.props.networkConfig?.enablePrivateNodes;
    if (poolSetting === false || (!clusterPrivate && poolSetting !== true))
      out.push({ res: p, why: "its nodes get public IPs (enablePrivateNodes is not true)" });
  }
  if (!clusterPrivate && gkeNodePools(resources, cluster).length === 0)
    out.push({
      res: cluster,
      why: "its nodes get public IPs (privateClusterConfig.enablePrivateNodes is not true)",
    });
  return out;
}

export function managedClusters(resources: readonly ClusterRes[]): ClusterRes[] {
  return resources.filter((r) => r.type === CLUSTER_TYPES.eks || r.type === CLUSTER_TYPES.gke);
}
