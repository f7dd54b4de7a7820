/**
 * Cross-site endpoints stay private: every LoadBalancer Service is internal under every controller
 * of its cloud (the AWS in-tree controller and the AWS Load Balancer Controller, GKE), and admits
 * only declared source ranges, never the whole internet.
 */
import { isInternalLoadBalancer } from "../../../components/shared/loadBalancer";
import type { Props } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

const SERVICE = "kubernetes:core/v1:Service";
const OPEN = ["0.0.0.0/0", "::/0"];

export const rule: DrStackRule = {
  name: "internal-load-balancer",
  area: "kubernetes",
  kind: "stack",
  description:
    "Every LoadBalancer Service is internal for every load balancer controller of its cloud and sets loadBalancerSourceRanges without 0.0.0.0/0.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Use internalLoadBalancerAnnotations (components/shared/loadBalancer.ts): on AWS aws-load-balancer-internal: "true" (in-tree controller) and aws-load-balancer-scheme: internal (AWS Load Balancer Controller); on GCP networking.gke.io/load-balancer-type: Internal. Set spec.loadBalancerSourceRanges to the other sites\' private ranges.',
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const lbs = args.resources.filter(
      (r) => r.type === SERVICE && r.props.spec?.type === "LoadBalancer",
    );
    if (lbs.length === 0) args.notApplicable("no LoadBalancer Services in this stack");
    for (const r of lbs) {
      const m: Props = r.props.metadata ?? {};
      const name = `${m.namespace ?? "default"}/${m.name ?? r.name}`;
      const cloud = m.labels?.["drstack.io/cloud"] as "aws" | "gcp" | undefined;
      if (!isInternalLoadBalancer(m.annotations, r.props.spec?.loadBalancerClass, cloud))
        report(
          `Service ${name} may become an internet-facing load balancer${cloud ? ` on ${cloud}` : ""}: its annotations do not make it internal for every controller`,
          r.urn,
        );
      const ranges: string[] = r.props.spec?.loadBalancerSourceRanges ?? [];
      if (ranges.length === 0)
        report(
          `Service ${name} sets no loadBalancerSourceRanges: every address may connect`,
          r.urn,
        );
      else if (ranges.some((c) => OPEN.includes(c)))
        report(
          `Service ${name} admits ${ranges.filter((c) => OPEN.includes(c)).join(", ")}`,
          r.urn,
        );
    }
  },
};
