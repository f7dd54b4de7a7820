/**
 * In the primary site every commit must reach a second member before it is acknowledged
 * (Patroni's synchronous_mode), so losing a node or a zone loses no data (RPO 0).
 */
import { parsePatroni, patroniText, siteRoleOf } from "../../../components/postgres/inspect";
import { ruleConfig } from "../../lib/config";
import { CONFIGMAP_TYPE, namespaceOf } from "../../lib/k8s";
import type { DrResourceRule } from "../../lib/rule";

export const rule: DrResourceRule = {
  name: "sync-replication-in-primary",
  area: "postgres",
  kind: "resource",
  description:
    "The Patroni configuration (patroni.yaml in a ConfigMap) of a primary site turns synchronous_mode on; with requireStrict, synchronous_mode_strict too.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Remove synchronousMode: false from drstack:postgres in the primary site's stack file (it defaults to on). On a running cluster also run `patronictl edit-config -s synchronous_mode=true`, since bootstrap settings only apply when the cluster is created.",
  configSchema: {
    properties: {
      requireStrict: {
        type: "boolean",
        default: false,
        description:
          "Also require synchronous_mode_strict (writes stop when no synchronous standby is left).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== CONFIGMAP_TYPE) args.notApplicable("not a ConfigMap");
    const text = patroniText(args.props);
    if (text === undefined) args.notApplicable("no patroni.yaml");
    if (siteRoleOf(args.props) !== "primary") args.notApplicable("not in a primary site");
    const where = `ConfigMap ${namespaceOf(args.props)}/${args.props.metadata?.name ?? args.name}`;
    let dcs: Record<string, unknown> = {};
    try {
      dcs = parsePatroni(text!).bootstrap?.dcs ?? {};
    } catch (e) {
      reportViolation(
        `${where}: patroni.yaml is not valid YAML (${(e as Error).message.split("\n")[0]})`,
      );
      return;
    }
    if (dcs.synchronous_mode !== true)
      reportViolation(
        `${where}: synchronous_mode is ${String(dcs.synchronous_mode ?? "off (Patroni's default)")} in the primary site; a node loss can lose acknowledged commits`,
      );
    if (
      ruleConfig<{ requireStrict: boolean }>(rule, args.getConfig()).requireStrict &&
      dcs.synchronous_mode_strict !== true
    ) {
      reportViolation(
        `${where}: synchronous_mode_strict is not on; with one member left the primary accepts writes no standby has`,
      );
    }
  },
};
