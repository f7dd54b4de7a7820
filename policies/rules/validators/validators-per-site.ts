/**
 * Redundant validators: every site that runs validators has at least two of them, on distinct
 * availability zones, both in the declared topology and in the validator workloads deployed (each
 * pinned to the zone the topology declares for it).
 */
import { isValidatorWorkload, validatorNameOf } from "../../../components/validators/labels";
import { ruleConfig } from "../../lib/config";
import { isWorkload, pinnedZone, podTemplate, topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "validators-per-site",
  area: "validators",
  kind: "stack",
  scope: "network",
  description:
    "Every site running validators has at least minValidators (default 2) on at least minZones distinct zones (default 2); each deployed validator workload is pinned to the zone the topology declares.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Declare at least two validators per validator site in stacks/network.yaml, each in a different zone of the site, and deploy them with ValidatorSet (which pins each StatefulSet to its zone with node affinity on topology.kubernetes.io/zone).",
  configSchema: {
    properties: {
      minValidators: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Validators each validator site needs.",
      },
      minZones: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Distinct zones a site's validators must span.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const c = ruleConfig<{ minValidators: number; minZones: number }>(rule, args.getConfig());
    const { docs, errors } = topologies(args.resources);
    for (const e of errors) reportViolation(e.message, e.urn);
    const declaredZone = new Map<string, string>();
    for (const doc of docs) {
      for (const site of doc.network.sites) {
        if (!(site.services ?? []).includes("validators")) continue;
        const vs = doc.network.validators.filter((v) => v.site === site.name);
        const zones = new Set(vs.map((v) => v.zone));
        if (vs.length < c.minValidators)
          reportViolation(
            `site ${site.name} runs ${vs.length} validator${vs.length === 1 ? "" : "s"} (${vs.map((v) => v.name).join(", ") || "none"}); at least ${c.minValidators} are required`,
            doc.urn,
          );
        else if (zones.size < Math.min(c.minZones, vs.length))
          reportViolation(
            `site ${site.name}'s validators (${vs.map((v) => v.name).join(", ")}) all run in ${[...zones].join(", ")}; spread them over at least ${c.minZones} zones`,
            doc.urn,
          );
      }
      for (const v of doc.network.validators) declaredZone.set(v.name, v.zone);
    }
    const bySite = new Map<string, { name: string; zone?: string; urn: string }[]>();
    for (const r of args.resources) {
      if (!isWorkload(r.type)) continue;
      const tpl = podTemplate(r.type, r.props);
      if (!isValidatorWorkload(r.props.metadata?.labels, tpl?.metadata?.labels)) continue;
      const name =
        validatorNameOf(r.props.metadata?.labels, tpl?.metadata?.labels) ??
        r.props.metadata?.name ??
        r.name;
      const zone = pinnedZone(tpl);
      const site =
        r.props.metadata?.labels?.["drstack.io/site"] ??
        tpl?.metadata?.labels?.["drstack.io/site"] ??
        "(unlabelled)";
      if (!zone)
        reportViolation(
          `validator ${name} is not pinned to one zone (required node affinity on topology.kubernetes.io/zone In [zone])`,
          r.urn,
        );
      else if (declaredZone.has(name) && declaredZone.get(name) !== zone)
        reportViolation(
          `validator ${name} is pinned to ${zone} but the topology declares ${declaredZone.get(name)}`,
          r.urn,
        );
      bySite.set(site, [...(bySite.get(site) ?? []), { name, zone, urn: r.urn }]);
    }
    for (const [site, ws] of bySite) {
      const zones = new Set(ws.map((w) => w.zone).filter((z) => z !== undefined));
      if (ws.length < c.minValidators)
        reportViolation(
          `site ${site} deploys ${ws.length} validator workload${ws.length === 1 ? "" : "s"} (${ws.map((w) => w.name).join(", ")}); at least ${c.minValidators} are required`,
          ws[0].urn,
        );
      else if (zones.size < Math.min(c.minZones, ws.length))
        reportViolation(
          `site ${site} deploys its validators (${ws.map((w) => w.name).join(", ")}) on ${zones.size} zone${zones.size === 1 ? "" : "s"}; at least ${c.minZones} are required`,
          ws[0].urn,
        );
    }
    if (docs.length === 0 && errors.length === 0 && bySite.size === 0)
      args.notApplicable("no topology and no validator workloads in this stack");
  },
};
