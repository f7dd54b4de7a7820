/**
 * Sentinel decides failovers by majority: an odd count of at least 3 keeps a majority when one
 * sentinel (or one zone of them) is lost; an even count adds no tolerance and can split evenly.
 */
import { runsSentinel } from "../../../components/redis/parse";
import { ruleConfig } from "../../lib/config";
import { isWorkload, namespaceOf, podTemplate, WORKLOAD_TYPES } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "sentinel-odd-count",
  area: "redis",
  kind: "resource",
  description:
    "Every Redis Sentinel workload runs an odd number of sentinels, at least 3 (minSentinels).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Set the sentinel StatefulSet\'s spec.replicas to an odd number >= 3; with drstack set drstack:redis {"sentinels": 3} (or 5), which also sets the quorum to the majority.',
  configSchema: {
    properties: {
      minSentinels: {
        type: "integer",
        minimum: 1,
        default: 3,
        description: "Fewest sentinels allowed.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isWorkload(args.type)) args.notApplicable("not a workload");
    const tpl = podTemplate(args.type, args.props);
    if (!runsSentinel(tpl)) args.notApplicable("does not run redis-sentinel");
    const { minSentinels } = ruleConfig<{ minSentinels: number }>(rule, args.getConfig());
    const kind = WORKLOAD_TYPES[args.type];
    const name = `${kind} ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    if (kind === "DaemonSet") {
      reportViolation(
        `${name} runs sentinels as a DaemonSet: their count follows the node count; use a StatefulSet with an odd replica count`,
      );
      return;
    }
    const replicas = args.props.spec?.replicas ?? 1;
    if (typeof replicas !== "number") return; // unknown at preview: nothing to judge
    if (replicas < minSentinels)
      reportViolation(
        `${name} runs ${replicas} sentinel${replicas === 1 ? "" : "s"}; at least ${minSentinels} are needed to keep a majority when one is lost`,
      );
    else if (replicas % 2 === 0)
      reportViolation(
        `${name} runs ${replicas} sentinels, an even number: it tolerates no more failures than ${replicas - 1} and can split evenly; use ${replicas + 1}`,
      );
  },
};
