/**
 * A validator's signing key must never run twice: every validator workload is a StatefulSet with
 * at most one replica, no autoscaler targets it, and no validator is deployed by two workloads
 * (across all stacks, when the offline checker runs it over the union).
 */
import { isValidatorWorkload, validatorNameOf } from "../../../components/validators/labels";
import { HPA_TYPES, isWorkload, namespaceOf, podTemplate, WORKLOAD_TYPES } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "single-signer",
  area: "validators",
  kind: "stack",
  scope: "network",
  description:
    "Each validator runs as exactly one StatefulSet with at most one replica, with no HorizontalPodAutoscaler on it and no second workload for the same validator: two signers with one key double-sign.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Deploy each validator through ValidatorSet (a StatefulSet with replicas: 1, whose ordered pod management never runs two pods of one identity); remove any HorizontalPodAutoscaler targeting it; for redundancy add another validator with its own key instead of more replicas.",
  configSchema: { properties: {} },
  validateStack: (args, reportViolation) => {
    const validators = new Map<string, string[]>();
    const byTarget = new Map<string, { name: string; urn: string }>();
    for (const r of args.resources) {
      if (!isWorkload(r.type)) continue;
      const tpl = podTemplate(r.type, r.props);
      if (!isValidatorWorkload(r.props.metadata?.labels, tpl?.metadata?.labels)) continue;
      const kind = WORKLOAD_TYPES[r.type];
      const name =
        validatorNameOf(r.props.metadata?.labels, tpl?.metadata?.labels) ??
        r.props.metadata?.name ??
        r.name;
      byTarget.set(`${namespaceOf(r.props)}/${kind}/${r.props.metadata?.name ?? r.name}`, {
        name,
        urn: r.urn,
      });
      validators.set(name, [...(validators.get(name) ?? []), r.urn]);
      if (kind !== "StatefulSet") {
        reportViolation(
          `validator ${name} runs as a ${kind}: it can start a second pod with the same key (rolling update, rescheduling); use a StatefulSet with 1 replica`,
          r.urn,
        );
        continue;
      }
      const replicas = r.props.spec?.replicas ?? 1;
      if (typeof replicas === "number" && replicas > 1) {
        reportViolation(
          `validator ${name} has ${replicas} replicas: every replica signs with the same key (double signing); use replicas: 1 and add validators for redundancy`,
          r.urn,
        );
      }
    }
    for (const r of args.resources) {
      if (!HPA_TYPES.includes(r.type)) continue;
      const ref = r.props.spec?.scaleTargetRef ?? {};
      const target = byTarget.get(`${namespaceOf(r.props)}/${ref.kind}/${ref.name}`);
      if (target)
        reportViolation(
          `autoscaler ${r.props.metadata?.name ?? r.name} scales validator ${target.name}: a validator must never run more than one replica`,
          r.urn,
        );
    }
    for (const [name, urns] of validators) {
      if (urns.length > 1)
        reportViolation(
          `validator ${name} is deployed by ${urns.length} workloads (${urns.join(", ")}): its key would sign twice`,
          urns[1],
        );
    }
  },
};
