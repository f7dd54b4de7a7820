/**
 * A Patroni cluster needs enough members to fail over and keep a synchronous standby: at least
 * three in a primary site (a leader, a synchronous standby and one spare for a zone loss), at
 * least two in a standby site (a standby leader and one replica).
 */
import { isPatroniStatefulSet, siteRoleOf } from "../../../components/postgres/inspect";
import { ruleConfig } from "../../lib/config";
import { namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "patroni-min-members",
  area: "postgres",
  kind: "resource",
  description:
    "Every Patroni StatefulSet has at least minPrimary members (default 3) in a primary site and at least minStandby (default 2) in any other site (by its drstack.io/role label).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Raise drstack:postgres.members in the stack file (or remove the override; the default is 3 in a primary site, 2 in a standby site).",
  configSchema: {
    properties: {
      minPrimary: {
        type: "integer",
        minimum: 1,
        default: 3,
        description: "Members a primary site's cluster needs.",
      },
      minStandby: {
        type: "integer",
        minimum: 1,
        default: 2,
        description: "Members a standby site's cluster needs.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!isPatroniStatefulSet(args.type, args.props))
      args.notApplicable("not a Patroni StatefulSet");
    const c = ruleConfig<{ minPrimary: number; minStandby: number }>(rule, args.getConfig());
    const role = siteRoleOf(args.props);
    const min = role === "primary" ? c.minPrimary : c.minStandby;
    const replicas = args.props.spec?.replicas ?? 1;
    const where = `StatefulSet ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    if (typeof replicas !== "number" || replicas < min) {
      reportViolation(
        `${where} (site role ${role ?? "unknown"}) has ${replicas} Patroni member${replicas === 1 ? "" : "s"}; at least ${min} are needed to fail over without losing data`,
      );
    }
  },
};
