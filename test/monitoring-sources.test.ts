/**
 * Alerts that can fire: every metric each shipped stack's alerts select is scraped by a monitor of
 * that stack from a deployed source (rule alert-has-source), and each way to orphan an alert is
 * caught. Also: the PromQL metric-name reader, and the sources' objects pass the Prometheus
 * Operator's schemas.
 */
import { expect } from "chai";
import {
  PodMonitor,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { metricNames } from "../components/monitoring/scrape";
import { rule } from "../policies/rules/monitoring/alert-has-source";
import { changed, runStackRule, type ResourceSpec } from "./support/policy";
import { byType, planShipped } from "./support/project";

type Obj = Record<string, any>;

describe("monitoring: every alert has a scraped source", () => {
  let primary: ResourceSpec[];
  before(async () => {
    const plan = (await planShipped()).find((p) => p.stack === "primary")!;
    primary = plan.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: structuredClone(r.inputs),
    }));
  });

  it("reads metric names from PromQL, not functions, keywords, labels or strings", () => {
    expect(
      metricNames(
        'max by (site, kind) (backup_size_bytes{site="a",kind=~"x|y"}) < 0.5 * max by (site) (max_over_time(backup_size_bytes{site="a"}[7d])) or absent(up{namespace="v"})',
      ),
    ).to.deep.equal(["backup_size_bytes", "up"]);
    expect(metricNames("time() - patroni_xlog_replayed_timestamp > 60")).to.deep.equal([
      "patroni_xlog_replayed_timestamp",
    ]);
  });

  it("passes every shipped stack, for every alert it deploys", async () => {
    for (const plan of await planShipped()) {
      const specs = plan.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.inputs,
      }));
      const run = await runStackRule(rule, specs);
      expect(run.notApplicable, plan.stack).to.equal(undefined);
      expect(run.messages, plan.stack).to.deep.equal([]);
    }
  });

  it("fails when Patroni's PodMonitor is gone (PatroniNoLeader and PostgresReplicationLag orphaned)", async () => {
    const run = await runStackRule(
      rule,
      primary.filter((s) => s.name !== "primary-monitoring-patroni-podmonitor"),
    );
    expect(
      run.messages.some((m) => m.startsWith("alert PatroniNoLeader selects patroni_primary")),
    ).to.equal(true);
    expect(run.messages.some((m) => m.startsWith("alert PostgresReplicationLag"))).to.equal(true);
    expect(run.messages.every((m) => m.includes("patroni_"))).to.equal(true);
  });

  it("fails when the Sentinel pods expose no metrics port (the exporter sidecar removed)", async () => {
    const specs = primary.map((s) =>
      s.name === "primary-redis-sentinels"
        ? changed(s, "spec.template.spec.containers[1]", undefined)
        : s,
    );
    const run = await runStackRule(rule, specs);
    expect(run.messages.length).to.be.greaterThan(0);
    expect(run.messages.every((m) => m.includes("SentinelQuorumLost"))).to.equal(true);
  });

  it("fails when the Pushgateway's ServiceMonitor scrapes a port the Service lacks", async () => {
    const specs = primary.map((s) =>
      s.name === "primary-monitoring-pushgateway-servicemonitor"
        ? changed(s, "spec.endpoints[0].port", "web")
        : s,
    );
    const run = await runStackRule(rule, specs);
    expect(run.messages.some((m) => m.startsWith("alert BackupTooOld"))).to.equal(true);
  });

  it("fails an alert on a metric nothing deploys", async () => {
    const specs = primary.map((s) =>
      s.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
        ? changed(s, "spec.groups[0].rules[0].expr", "node_filesystem_avail_bytes < 1")
        : s,
    );
    const run = await runStackRule(rule, specs);
    expect(run.messages).to.include(
      "alert BackupTooOld selects node_filesystem_avail_bytes, which nothing the stack deploys produces",
    );
  });

  it("renders PodMonitors and ServiceMonitors the Prometheus Operator's schema accepts", async () => {
    for (const plan of await planShipped()) {
      for (const r of byType(plan, "kubernetes:monitoring.coreos.com/v1:PodMonitor"))
        new PodMonitor(r.inputs as never).validate();
      for (const r of byType(plan, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"))
        new ServiceMonitor(r.inputs as never).validate();
    }
    const bad = byType(
      (await planShipped()).find((p) => p.stack === "primary")!,
      "kubernetes:monitoring.coreos.com/v1:PodMonitor",
    )[0].inputs as Obj;
    expect(() =>
      new PodMonitor({ ...bad, spec: { ...bad.spec, podMetricsEndpoints: "metrics" } }).validate(),
    ).to.throw();
  });
});
