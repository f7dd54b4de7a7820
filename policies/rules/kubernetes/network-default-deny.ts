/**
 * Every namespace the stack creates denies all ingress and egress by default (a NetworkPolicy
 * selecting every pod with both policy types and no rules), and no NetworkPolicy re-opens ingress
 * to every source (a rule without `from`, an empty peer, or an ipBlock of the whole internet).
 * Without both, any pod of the cluster can reach Patroni's REST API, PostgreSQL or Redis. A policy
 * that is public by design (a sentry's P2P port) says so with the annotation
 * `drstack.io/public-ingress: <reason>`.
 */
import { ruleConfig } from "../../lib/config";
import type { Props } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const OPEN = ["0.0.0.0/0", "::/0"];
export const PUBLIC_INGRESS_ANNOTATION = "drstack.io/public-ingress";

function isDefaultDeny(spec: Props | undefined, type: "Ingress" | "Egress"): boolean {
  if (!spec) return false;
  const all = Object.keys(spec.podSelector ?? {}).length === 0;
  const types: string[] = spec.policyTypes ?? ["Ingress"];
  const rules = type === "Ingress" ? spec.ingress : spec.egress;
  return all && types.includes(type) && (!rules || rules.length === 0);
}

export const rule: DrStackRule = {
  name: "network-default-deny",
  area: "kubernetes",
  kind: "stack",
  description:
    "Every Namespace the stack creates has a default-deny NetworkPolicy for ingress and egress, and no NetworkPolicy allows ingress from every source.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Deploy sites with DrSite (components/site), which adds drstack-default-deny and DNS egress to each namespace and explicit allows per service (docs/network.md). For your own policies give every ingress rule a `from` naming pods, namespaces or private ranges; annotate a policy that is public by design with drstack.io/public-ingress: <reason>.",
  configSchema: {
    properties: {
      exemptNamespaces: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Namespaces that need no default deny.",
      },
    },
  },
  validateStack: (args, report) => {
    const { exemptNamespaces } = ruleConfig<{ exemptNamespaces: string[] }>(rule, args.getConfig());
    const namespaces = args.resources.filter((r) => r.type === NAMESPACE);
    const policies = args.resources.filter((r) => r.type === NETWORK_POLICY);
    if (namespaces.length + policies.length === 0)
      args.notApplicable("no namespaces or NetworkPolicies in this stack");
    for (const ns of namespaces) {
      const name = String(ns.props.metadata?.name ?? ns.name);
      if (exemptNamespaces.includes(name)) continue;
      const inNs = policies.filter((p) => p.props.metadata?.namespace === name);
      for (const type of ["Ingress", "Egress"] as const)
        if (!inNs.some((p) => isDefaultDeny(p.props.spec, type)))
          report(
            `namespace ${name} has no default-deny NetworkPolicy for ${type.toLowerCase()}`,
            ns.urn,
          );
    }
    for (const p of policies) {
      if (p.props.metadata?.annotations?.[PUBLIC_INGRESS_ANNOTATION]) continue;
      const ingress: Props[] = p.props.spec?.ingress ?? [];
      ingress.forEach((r, i) => {
        const from: Props[] | undefined = r.from;
        const open =
          !from ||
          from.length === 0 ||
          from.some(
            (peer) =>
              Object.keys(peer).length === 0 ||
              (peer.namespaceSelector &&
                Object.keys(peer.namespaceSelector).length === 0 &&
                !peer.podSelector) ||
              OPEN.includes(peer.ipBlock?.cidr),
          );
        if (open)
          report(
            `NetworkPolicy ${p.props.metadata?.namespace}/${p.props.metadata?.name}: ingress rule ${i} admits every source`,
            p.urn,
          );
      });
    }
  },
};
