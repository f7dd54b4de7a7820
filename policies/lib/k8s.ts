/**
 * Pure helpers rules share to read Kubernetes objects and the drstack topology out of policy
 * props: workloads and their pod templates, label selectors, the topology ConfigMap.
 */
import type { Network } from "../../components/topology/model";

export type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Pulumi type tokens of the Kubernetes workloads that carry a pod template. */
export const WORKLOAD_TYPES: Readonly<Record<string, string>> = {
  "kubernetes:apps/v1:StatefulSet": "StatefulSet",
  "kubernetes:apps/v1:Deployment": "Deployment",
  "kubernetes:apps/v1:DaemonSet": "DaemonSet",
  "kubernetes:apps/v1:ReplicaSet": "ReplicaSet",
  "kubernetes:batch/v1:Job": "Job",
  "kubernetes:batch/v1:CronJob": "CronJob",
};
export const POD_TYPE = "kubernetes:core/v1:Pod";
export const PDB_TYPES = [
  "kubernetes:policy/v1:PodDisruptionBudget",
  "kubernetes:policy/v1beta1:PodDisruptionBudget",
];
export const SECRET_TYPE = "kubernetes:core/v1:Secret";
export const CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap";
export const HPA_TYPES = [
  "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
];

export const isWorkload = (type: string): boolean => type in WORKLOAD_TYPES;

/** The pod template (`{metadata, spec}`) of a workload or pod, or undefined. */
export function podTemplate(
  type: string,
  props: Props,
): { metadata?: Props; spec?: Props } | undefined {
  if (type === POD_TYPE) return { metadata: props.metadata, spec: props.spec };
  if (type === "kubernetes:batch/v1:CronJob") return props.spec?.jobTemplate?.spec?.template;
  if (isWorkload(type)) return props.spec?.template;
  return undefined;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    key: string;
    operator: string;
    values?: readonly string[];
  }[];
}

/**
 * Whether a Kubernetes label selector selects `labels`. An empty selector selects everything
 * (as in a PodDisruptionBudget of policy/v1); an absent one selects nothing.
 */
export function selects(
  selector: LabelSelector | undefined | null,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !vals.includes(l[e.key])) return false;
        break;
      case "NotIn":
        if (has && vals.includes(l[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The namespace of a namespaced object (`default` when unset, as the API server does). */
export function namespaceOf(props: Props): string {
  return props.metadata?.namespace ?? "default";
}

export interface TopologyDoc {
  readonly urn?: string;
  readonly network: Network;
  /** The site of the stack carrying the ConfigMap (`data.site`). */
  readonly site?: string;
}

export const TOPOLOGY_COMPONENT = "topology";

/** Whether a ConfigMap is drstack's topology ConfigMap. */
export function isTopologyConfigMap(type: string, props: Props): boolean {
  return (
    type === CONFIGMAP_TYPE &&
    props.metadata?.labels?.["app.kubernetes.io/component"] === TOPOLOGY_COMPONENT &&
    typeof props.data?.["network.json"] === "string"
  );
}

/**
 * The topologies the resources carry (one per topology ConfigMap; identical documents once,
 * keeping the first URN). A document that is not valid JSON is returned in `errors`.
 */
export function topologies(resources: readonly { type: string; urn: string; props: Props }[]): {
  docs: TopologyDoc[];
  errors: { urn: string; message: string }[];
} {
  const seen = new Map<string, TopologyDoc>();
  const errors: { urn: string; message: string }[] = [];
  for (const r of resources) {
    if (!isTopologyConfigMap(r.type, r.props)) continue;
    const text: string = r.props.data["network.json"];
    if (seen.has(text)) continue;
    try {
      const network = JSON.parse(text) as Network;
      if (!network || !Array.isArray(network.sites) || !Array.isArray(network.validators))
        throw new Error("not a drstack network (sites and validators lists expected)");
      seen.set(text, {
        urn: r.urn,
        network,
        ...(typeof r.props.data.site === "string" ? { site: r.props.data.site } : {}),
      });
    } catch (e) {
      errors.push({
        urn: r.urn,
        message: `topology ConfigMap data["network.json"] is unreadable: ${(e as Error).message}`,
      });
    }
  }
  return { docs: [...seen.values()], errors };
}

/** The zone a pod template is pinned to (required node affinity `In` one zone, nodeSelector, or label). */
export function pinnedZone(
  template: { metadata?: Props; spec?: Props } | undefined,
): string | undefined {
  const spec = template?.spec ?? {};
  const terms: Props[] =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  const zones = new Set<string>();
  for (const t of terms) {
    for (const e of t.matchExpressions ?? []) {
      if (e.key === "topology.kubernetes.io/zone" && e.operator === "In")
        for (const v of e.values ?? []) zones.add(v);
    }
  }
  if (zones.size === 1) return [...zones][0];
  if (zones.size > 1) return undefined;
  return spec.nodeSelector?.["topology.kubernetes.io/zone"];
}
