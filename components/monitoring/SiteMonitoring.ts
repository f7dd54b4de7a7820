/**
 * `drstack:monitoring:SiteMonitoring`: the sources of the site's alerts, so every alert can fire:
 * PodMonitors for Patroni's REST API `/metrics` and the Sentinels' redis_exporter, the site's
 * Pushgateway (basic auth, persistent) that backup jobs push to with its ServiceMonitor, and the
 * cloud exporter that reads the backup bucket's replication metrics (cloudwatch_exporter on AWS,
 * stackdriver_exporter on GCP dual-region), each with the NetworkPolicy that admits its scrape.
 */
import { CustomResource } from "@pulumi/kubernetes/apiextensions/customResource";
import { StatefulSet } from "@pulumi/kubernetes/apps/v1/statefulSet";
import { Deployment } from "@pulumi/kubernetes/apps/v1/deployment";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import { Service } from "@pulumi/kubernetes/core/v1/service";
import { ServiceAccount } from "@pulumi/kubernetes/core/v1/serviceAccount";
import { NetworkPolicy } from "@pulumi/kubernetes/networking/v1/networkPolicy";
import { PodDisruptionBudget } from "@pulumi/kubernetes/policy/v1/podDisruptionBudget";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword";
import {
  CLOUDWATCH_EXPORTER_PORT,
  cloudExporterDeploymentSpec,
  cloudwatchExporterConfig,
  podMonitor,
  PUSHGATEWAY_AUTH_SECRET,
  PUSHGATEWAY_NAME,
  PUSHGATEWAY_PORT,
  pushgatewayStatefulSetSpec,
  pushgatewayWebConfig,
  REDIS_EXPORTER_PORT,
  STACKDRIVER_EXPORTER_PORT,
} from "./scrape";

export interface SiteMonitoringArgs {
  readonly provider: Provider;
  /** Labels on every object (the site labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** Namespace of Prometheus (`drstack:networkPolicy.monitoringNamespace`). */
  readonly monitoringNamespace: string;
  /** The data namespace and the pod labels of Patroni members / Sentinels, when the site runs them. */
  readonly data?: {
    readonly namespace: string;
    readonly patroni?: Readonly<Record<string, string>>;
    /** Patroni's REST API serves HTTPS: the Secret with its CA (`ca.crt`) and the certificate's name. */
    readonly patroniTls?: { readonly secret: string; readonly serverName: string };
    readonly sentinels?: Readonly<Record<string, string>>;
  };
  /** The validators namespace, when the site runs validators (CometBFT's Prometheus port "metrics"). */
  readonly validators?: { readonly namespace: string };
  /** The backup namespace, where the Pushgateway and the cloud exporter run. */
  readonly backup?: {
    readonly namespace: pulumi.Input<string>;
    readonly namespaceName: string;
    /** The backup bucket whose replication the cloud exporter watches. */
    readonly bucket?: {
      readonly cloud: string;
      readonly name: string;
      readonly region: string;
      readonly replication: string;
    };
    /** Annotations giving the exporter's ServiceAccount its cloud identity (IRSA / Workload Identity). */
    readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
    readonly gcpProject?: string;
  };
}

export const PUSHGATEWAY_USER = "drstack";

export class SiteMonitoring extends pulumi.ComponentResource {
  constructor(name: string, args: SiteMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:monitoring:SiteMonitoring", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const labels = { ...args.labels };
    const fromMonitoring = (port: number) => ({
      from: [
        {
          namespaceSelector: {
            matchLabels: { "kubernetes.io/metadata.name": args.monitoringNamespace },
          },
        },
      ],
      ports: [{ protocol: "TCP", port }],
    });
    const monitor = (role: string, spec: Record<string, unknown>) =>
      new CustomResource(`${name}-${role}`, spec as never, child);

    if (args.data?.patroni)
      monitor(
        "patroni-podmonitor",
        podMonitor({
          name: "drstack-patroni",
          namespace: args.data.namespace,
          labels,
          selector: args.data.patroni,
          port: "patroni",
          ...(args.data.patroniTls
            ? {
                tls: {
                  caSecret: args.data.patroniTls.secret,
                  caKey: "ca.crt",
                  serverName: args.data.patroniTls.serverName,
                },
              }
            : {}),
        }),
      );
    if (args.data?.sentinels) {
      monitor(
        "sentinel-podmonitor",
        podMonitor({
          name: "drstack-sentinel",
          namespace: args.data.namespace,
          labels,
          selector: args.data.sentinels,
          port: "metrics",
        }),
      );
      void REDIS_EXPORTER_PORT; // scraped through the port named "metrics" of the Sentinel pods
    }
    if (args.validators)
      monitor(
        "validators-podmonitor",
        podMonitor({
          name: "drstack-validators",
          namespace: args.validators.namespace,
          labels,
          selector: { "app.kubernetes.io/component": "validator" },
          port: "metrics",
        }),
      );
    if (!args.backup) {
      this.registerOutputs({});
      return;
    }
    const ns = args.backup.namespace;

    // Pushgateway: one password, kept by the stack; jobs read it from the auth Secret.
    const password = new RandomPassword(
      `${name}-pushgateway-password`,
      { length: 32, special: false },
      { parent: this },
    );
    new Secret(
      `${name}-pushgateway-auth`,
      {
        metadata: { name: PUSHGATEWAY_AUTH_SECRET, namespace: ns, labels },
        stringData: { username: PUSHGATEWAY_USER, password: password.result },
      },
      child,
    );
    const webConfig = new Secret(
      `${name}-pushgateway-web`,
      {
        metadata: { name: `${PUSHGATEWAY_NAME}-web-config`, namespace: ns, labels },
        stringData: {
          "web-config.yml": password.bcryptHash.apply((h) =>
            pushgatewayWebConfig(PUSHGATEWAY_USER, h),
          ),
        },
      },
      child,
    );
    const pgwSpec = pushgatewayStatefulSetSpec(`${PUSHGATEWAY_NAME}-web-config`);
    const pgwLabels = (pgwSpec.selector as { matchLabels: Record<string, string> }).matchLabels;
    new StatefulSet(
      `${name}-pushgateway`,
      {
        metadata: { name: PUSHGATEWAY_NAME, namespace: ns, labels: { ...labels, ...pgwLabels } },
        spec: pgwSpec as never,
      },
      { ...child, dependsOn: [webConfig] },
    );
    new PodDisruptionBudget(
      `${name}-pushgateway-pdb`,
      {
        metadata: { name: PUSHGATEWAY_NAME, namespace: ns, labels },
        spec: { maxUnavailable: 1, selector: { matchLabels: pgwLabels } },
      },
      child,
    );
    new Service(
      `${name}-pushgateway-svc`,
      {
        metadata: { name: PUSHGATEWAY_NAME, namespace: ns, labels: { ...labels, ...pgwLabels } },
        spec: {
          selector: pgwLabels,
          ports: [{ name: "http", port: PUSHGATEWAY_PORT, targetPort: "http" }],
        },
      },
      child,
    );
    monitor("pushgateway-servicemonitor", {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: PUSHGATEWAY_NAME, namespace: ns, labels },
      spec: {
        selector: { matchLabels: pgwLabels },
        namespaceSelector: { matchNames: [args.backup.namespaceName] },
        endpoints: [
          {
            port: "http",
            interval: "30s",
            honorLabels: true,
            basicAuth: {
              username: { name: PUSHGATEWAY_AUTH_SECRET, key: "username" },
              password: { name: PUSHGATEWAY_AUTH_SECRET, key: "password" },
            },
          },
        ],
      },
    });
    new NetworkPolicy(
      `${name}-pushgateway-netpol`,
      {
        metadata: { name: PUSHGATEWAY_NAME, namespace: ns, labels },
        spec: {
          podSelector: { matchLabels: pgwLabels },
          policyTypes: ["Ingress"],
          ingress: [
            { from: [{ podSelector: {} }], ports: [{ protocol: "TCP", port: PUSHGATEWAY_PORT }] },
            fromMonitoring(PUSHGATEWAY_PORT),
          ],
        },
      },
      child,
    );

    // The bucket's replication lag, from the cloud's own metrics.
    const b = args.backup.bucket;
    if (b && (b.replication === "s3-replication" || b.replication === "gcs-dual-region")) {
      const cloud = b.cloud === "aws" ? "aws" : "gcp";
      const sa = new ServiceAccount(
        `${name}-exporter-sa`,
        {
          metadata: {
            name: "drstack-bucket-exporter",
            namespace: ns,
            labels,
            annotations: { ...args.backup.serviceAccountAnnotations },
          },
          automountServiceAccountToken: true,
        },
        child,
      );
      const config =
        cloud === "aws"
          ? new ConfigMap(
              `${name}-exporter-config`,
              {
                metadata: { name: "drstack-cloudwatch-exporter", namespace: ns, labels },
                data: { "config.yml": cloudwatchExporterConfig(b.region, b.name) },
              },
              child,
            )
          : undefined;
      const spec = cloudExporterDeploymentSpec({
        cloud,
        serviceAccount: "drstack-bucket-exporter",
        ...(config ? { configMap: "drstack-cloudwatch-exporter" } : {}),
        ...(args.backup.gcpProject ? { gcpProject: args.backup.gcpProject } : {}),
      });
      const exLabels = (spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      new Deployment(
        `${name}-bucket-exporter`,
        {
          metadata: {
            name: exLabels["app.kubernetes.io/name"],
            namespace: ns,
            labels: { ...labels, ...exLabels },
          },
          spec: spec as never,
        },
        { ...child, dependsOn: [sa, ...(config ? [config] : [])] },
      );
      monitor(
        "bucket-exporter-podmonitor",
        podMonitor({
          name: exLabels["app.kubernetes.io/name"],
          namespace: args.backup.namespaceName,
          labels,
          selector: exLabels,
          port: "metrics",
        }),
      );
      const port = cloud === "aws" ? CLOUDWATCH_EXPORTER_PORT : STACKDRIVER_EXPORTER_PORT;
      new NetworkPolicy(
        `${name}-bucket-exporter-netpol`,
        {
          metadata: { name: exLabels["app.kubernetes.io/name"], namespace: ns, labels },
          spec: {
            podSelector: { matchLabels: exLabels },
            policyTypes: ["Ingress"],
            ingress: [fromMonitoring(port)],
          },
        },
        child,
      );
    }
    this.registerOutputs({});
  }
}
