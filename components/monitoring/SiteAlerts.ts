/**
 * `drstack:monitoring:SiteAlerts`: the site's PrometheusRule (Prometheus Operator CRD
 * `monitoring.coreos.com/v1`), with the groups `renderAlertRules` produces.
 */
import { CustomResource } from "@pulumi/kubernetes/apiextensions/customResource";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { type AlertOptions, renderAlertRules, type RuleGroup } from "./rules";

export interface SiteAlertsArgs {
  /** Namespace of the PrometheusRule (the site's system namespace). */
  readonly namespace: pulumi.Input<string>;
  readonly provider: Provider;
  readonly alerts: AlertOptions;
  /** Labels on the PrometheusRule; include your Prometheus' `ruleSelector` labels. Default: the site labels plus `role: alert-rules`. */
  readonly labels: Readonly<Record<string, string>>;
}

export class SiteAlerts extends pulumi.ComponentResource {
  readonly groups: readonly RuleGroup[];
  readonly ruleName = "drstack-alerts";

  constructor(name: string, args: SiteAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:monitoring:SiteAlerts", name, {}, opts);
    this.groups = renderAlertRules(args.alerts);
    new CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
          name: this.ruleName,
          namespace: args.namespace,
          labels: { ...args.labels, role: "alert-rules" },
        },
        spec: { groups: this.groups },
      },
      { parent: this, provider: args.provider },
    );
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
