/**
 * A Patroni cluster's members must be able to land in at least two zones, one per zone as far
 * as possible: a zone-level topology spread (maxSkew 1, DoNotSchedule), no node affinity that
 * narrows the cluster to fewer zones, and at least two members.
 */
import { isPatroniStatefulSet } from "../../../components/postgres/inspect";
import { ruleConfig } from "../../lib/config";
import { namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

const ZONE = "topology.kubernetes.io/zone";
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Zones a required node affinity allows (undefined: not restricted by zone). */
function allowedZones(affinity: Obj | undefined): Set<string> | undefined {
  const terms: Obj[] =
    affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return undefined;
  const zones = new Set<string>();
  for (const t of terms) {
    const exprs: Obj[] = (t.matchExpressions ?? []).filter((e: Obj) => e.key === ZONE);
    if (exprs.length === 0) return undefined; // one term without a zone restriction allows any zone
    const inSets = exprs
      .filter((e) => e.operator === "In")
      .map((e) => new Set<string>(e.values ?? []));
    if (inSets.length === 0) return undefined;
    for (const z of inSets[0]) if (inSets.every((s) => s.has(z))) zones.add(z);
  }
  return zones;
}

export const rule: DrResourceRule = {
  name: "postgres-zone-spread",
  area: "postgres",
  kind: "resource",
  description:
    "Every Patroni StatefulSet spreads its pods over zones (topologySpreadConstraints on topology.kubernetes.io/zone with maxSkew 1 and DoNotSchedule), may use at least minZones zones (default 2), and has at least two members.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use drstack's PatroniCluster (it spreads members over the site's zones) and list at least two zones for the site in stacks/network.yaml; do not pin the cluster to one zone.",
  configSchema: {
    properties: {
      minZones: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Zones the members must be able to use.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isPatroniStatefulSet(args.type, args.props))
      args.notApplicable("not a Patroni StatefulSet");
    const { minZones } = ruleConfig<{ minZones: number }>(rule, args.getConfig());
    const where = `StatefulSet ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    const pod: Obj = args.props.spec?.template?.spec ?? {};
    const spread = ((pod.topologySpreadConstraints ?? []) as Obj[]).find(
      (c) => c.topologyKey === ZONE,
    );
    if (!spread)
      reportViolation(
        `${where} has no topology spread constraint on ${ZONE}; the scheduler may put every member in one zone`,
      );
    else if (spread.maxSkew > 1 || spread.whenUnsatisfiable !== "DoNotSchedule") {
      reportViolation(
        `${where} spreads over zones with maxSkew ${spread.maxSkew} / ${spread.whenUnsatisfiable}; use maxSkew 1 with DoNotSchedule so a zone loss takes at most one member per zone`,
      );
    }
    const zones = allowedZones(pod.affinity);
    if (zones && zones.size < minZones)
      reportViolation(
        `${where} may only run in ${zones.size} zone${zones.size === 1 ? "" : "s"} (${[...zones].join(", ") || "none"}); at least ${minZones} are needed`,
      );
    const replicas = args.props.spec?.replicas ?? 1;
    if (replicas < 2)
      reportViolation(`${where} has ${replicas} member; one member cannot be in two zones`);
  },
};
