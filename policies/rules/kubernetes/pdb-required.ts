/**
 * Stateful workloads need a PodDisruptionBudget: without one a node drain or cluster upgrade may
 * evict every replica of a database, Sentinel quorum or validator at once. Generic: any
 * StatefulSet, and any other workload that mounts PersistentVolumeClaims.
 */
import { ruleConfig } from "../../lib/config";
import {
  isWorkload,
  namespaceOf,
  PDB_TYPES,
  podTemplate,
  selects,
  WORKLOAD_TYPES,
} from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "pdb-required",
  area: "kubernetes",
  kind: "stack",
  description:
    "Every stateful workload (each StatefulSet, and any Deployment/ReplicaSet that mounts a PersistentVolumeClaim) has a PodDisruptionBudget in its namespace whose selector selects its pods.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Add a policy/v1 PodDisruptionBudget in the workload's namespace with selector.matchLabels equal to (a subset of) the pod template's labels, e.g. maxUnavailable: 1; drstack components create one next to each StatefulSet.",
  configSchema: {
    properties: {
      exemptNamespaces: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Namespaces whose workloads are not checked.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { exemptNamespaces } = ruleConfig<{ exemptNamespaces: string[] }>(rule, args.getConfig());
    const pdbs = args.resources.filter((r) => PDB_TYPES.includes(r.type));
    let checked = 0;
    for (const r of args.resources) {
      if (!isWorkload(r.type)) continue;
      const kind = WORKLOAD_TYPES[r.type];
      if (kind === "Job" || kind === "CronJob" || kind === "DaemonSet") continue;
      const tpl = podTemplate(r.type, r.props);
      const stateful =
        kind === "StatefulSet" ||
        (tpl?.spec?.volumes ?? []).some(
          (v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim,
        );
      if (!stateful) continue;
      const ns = namespaceOf(r.props);
      if (exemptNamespaces.includes(ns)) continue;
      checked++;
      const labels = tpl?.metadata?.labels ?? {};
      const covered = pdbs.some(
        (p) => namespaceOf(p.props) === ns && selects(p.props.spec?.selector, labels),
      );
      if (!covered)
        reportViolation(
          `${kind} ${ns}/${r.props.metadata?.name ?? r.name} has no PodDisruptionBudget selecting its pods (labels ${JSON.stringify(labels)})`,
          r.urn,
        );
    }
    if (checked === 0) args.notApplicable("no stateful workloads in this stack");
  },
};
