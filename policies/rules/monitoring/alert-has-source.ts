/**
 * Alerts that can fire: every metric an alert of the stack's PrometheusRules selects has a source
 * the stack deploys (components/monitoring/scrape.ts METRIC_SOURCES) and a PodMonitor or
 * ServiceMonitor in the stack that scrapes it: its selector selects a recorded workload's pods (or
 * Service) carrying the source's labels, on a port of that name.
 */
import { METRIC_SOURCES, metricNames, sourceOf } from "../../../components/monitoring/scrape";
import { podTemplate, type Props, selects } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor";
const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
const SERVICE = "kubernetes:core/v1:Service";

const includes = (labels: Props | undefined, want: Readonly<Record<string, string>>) =>
  Object.entries(want).every(([k, v]) => labels?.[k] === v);

export const rule: DrStackRule = {
  name: "alert-has-source",
  area: "monitoring",
  kind: "stack",
  description:
    "Every metric selected by an alert of the stack's PrometheusRules is produced by a source the stack deploys and scraped by a PodMonitor or ServiceMonitor of the stack.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Deploy sites with DrSite, whose SiteMonitoring adds the PodMonitors (Patroni, redis_exporter, validators, bucket exporter) and the Pushgateway's ServiceMonitor; for a new alert add its metric's source to METRIC_SOURCES (components/monitoring/scrape.ts) and deploy that source with a monitor.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const rules = args.resources.filter((r) => r.type === PROMETHEUS_RULE);
    if (rules.length === 0) args.notApplicable("no PrometheusRule in this stack");
    const pods = args.resources
      .map((r) => podTemplate(r.type, r.props))
      .filter((t): t is NonNullable<typeof t> => t !== undefined);
    const services = args.resources.filter((r) => r.type === SERVICE);
    const scraped = (source: (typeof METRIC_SOURCES)[number]): boolean => {
      const { kind, selects: want, port } = source.scrape;
      if (kind === "PodMonitor")
        return args.resources
          .filter((r) => r.type === POD_MONITOR)
          .some(
            (m) =>
              ((m.props.spec?.podMetricsEndpoints ?? []) as Props[]).some((e) => e.port === port) &&
              pods.some(
                (t) =>
                  includes(t.metadata?.labels, want) &&
                  selects(m.props.spec?.selector, t.metadata?.labels) &&
                  ((t.spec?.containers ?? []) as Props[]).some((c) =>
                    ((c.ports ?? []) as Props[]).some((p) => p.name === port),
                  ),
              ),
          );
      return args.resources
        .filter((r) => r.type === SERVICE_MONITOR)
        .some(
          (m) =>
            ((m.props.spec?.endpoints ?? []) as Props[]).some((e) => e.port === port) &&
            services.some(
              (s) =>
                includes(s.props.metadata?.labels, want) &&
                selects(m.props.spec?.selector, s.props.metadata?.labels) &&
                ((s.props.spec?.ports ?? []) as Props[]).some((p) => p.name === port),
            ),
        );
    };
    for (const pr of rules) {
      for (const group of (pr.props.spec?.groups ?? []) as Props[])
        for (const r of (group.rules ?? []) as Props[]) {
          if (!r.alert) continue;
          for (const metric of metricNames(String(r.expr))) {
            const source = sourceOf(metric);
            if (!source)
              report(
                `alert ${r.alert} selects ${metric}, which nothing the stack deploys produces`,
                pr.urn,
              );
            else if (!scraped(source))
              report(
                `alert ${r.alert} selects ${metric} (from ${source.source}), but no ${source.scrape.kind} of the stack scrapes it`,
                pr.urn,
              );
          }
        }
    }
  },
};
