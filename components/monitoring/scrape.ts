/**
 * Where every alert's metrics come from: the scrape objects (Prometheus Operator PodMonitor /
 * ServiceMonitor, monitoring.coreos.com/v1) and exporters the stack deploys, as pure specs, and a
 * catalogue mapping each metric the alerts use to the source that produces it. A test and the
 * `alert-has-source` rule hold every alert expression against this catalogue and the recorded
 * resources, so an alert can never select a metric nothing scrapes.
 */
import { IMAGES } from "../shared/images";

/** Published images of the exporters the stack deploys (Docker Hub). */
export const PUSHGATEWAY_IMAGE = IMAGES.pushgateway.ref;
export const REDIS_EXPORTER_IMAGE = IMAGES.redisExporter.ref;

export const REDIS_EXPORTER_PORT = 9121;
export const PUSHGATEWAY_PORT = 9091;
export const PUSHGATEWAY_NAME = "drstack-pushgateway";
/** Secret (backup namespace) with `username` / `password` the jobs and the ServiceMonitor push and scrape with. */
export const PUSHGATEWAY_AUTH_SECRET = "drstack-pushgateway-auth";

export interface MetricSource {
  /** Metric names this source produces. */
  readonly metrics: RegExp;
  /** What produces it, for messages. */
  readonly source: string;
  /** The scrape object that must exist: its kind and labels of the pods/Service it selects. */
  readonly scrape: {
    readonly kind: "PodMonitor" | "ServiceMonitor";
    readonly selects: Readonly<Record<string, string>>;
    readonly port: string;
  };
}

/** Every metric family the site's alerts use, and the deployed source that produces it. */
export const METRIC_SOURCES: readonly MetricSource[] = [
  {
    metrics: /^patroni_/,
    source: "Patroni's REST API /metrics on each member",
    scrape: {
      kind: "PodMonitor",
      selects: { "app.kubernetes.io/name": "patroni" },
      port: "patroni",
    },
  },
  {
    metrics: /^redis_sentinel_/,
    source: "redis_exporter beside each Sentinel",
    scrape: {
      kind: "PodMonitor",
      selects: { "app.kubernetes.io/name": "redis-sentinel" },
      port: "metrics",
    },
  },
  {
    metrics: /^backup_/,
    source: "the backup jobs, through the site's Pushgateway (basic auth)",
    scrape: {
      kind: "ServiceMonitor",
      selects: { "app.kubernetes.io/name": "pushgateway" },
      port: "http",
    },
  },
  {
    metrics: /^aws_s3_replication_/,
    source: "cloudwatch_exporter (AWS/S3 replication metrics of the backup bucket)",
    scrape: {
      kind: "PodMonitor",
      selects: { "app.kubernetes.io/name": "cloudwatch-exporter" },
      port: "metrics",
    },
  },
  {
    metrics: /^stackdriver_gcs_bucket_storage_googleapis_com_replication_/,
    source: "stackdriver_exporter (Cloud Monitoring replication metrics of the backup bucket)",
    scrape: {
      kind: "PodMonitor",
      selects: { "app.kubernetes.io/name": "stackdriver-exporter" },
      port: "metrics",
    },
  },
  {
    metrics: /^(up|cometbft_)/,
    source: "CometBFT's Prometheus endpoint on validators and sentries",
    scrape: {
      kind: "PodMonitor",
      selects: { "app.kubernetes.io/component": "validator" },
      port: "metrics",
    },
  },
];

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "time",
  "absent",
  "max",
  "min",
  "sum",
  "avg",
  "count",
  "max_over_time",
  "min_over_time",
  "rate",
  "increase",
  "delta",
  "topk",
  "bottomk",
  "inf",
  "nan",
]);

/** The metric names a PromQL expression selects (identifiers that are not functions, keywords or label names). */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noMatchers = noStrings.replace(/\{[^}]*\}/g, "{}");
  const noGroupings = noMatchers.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g,
    "",
  );
  const names = new Set<string>();
  for (const m of noGroupings.matchAll(
    /[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\{|\[|\)|\s|$|>|<|=|!|\+|-|\*|\/))/g,
  )) {
    const id = m[0];
    const after = noGroupings.slice((m.index ?? 0) + id.length).trimStart();
    if (PROMQL_WORDS.has(id) || after.startsWith("(")) continue;
    if (/^\d/.test(id)) continue;
    names.add(id);
  }
  return [...names].sort();
}

/** The source of a metric name, or undefined when nothing the stack deploys produces it. */
export function sourceOf(metric: string): MetricSource | undefined {
  return METRIC_SOURCES.find((s) => s.metrics.test(metric));
}

export interface MonitorArgs {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector: Readonly<Record<string, string>>;
  readonly port: string;
  readonly path?: string;
  /** HTTPS scrape: the CA (a Secret key in the monitor's namespace) and the name the certificate carries. Default HTTP. */
  readonly tls?: { readonly caSecret: string; readonly caKey: string; readonly serverName: string };
}

/** A PodMonitor (monitoring.coreos.com/v1) scraping `port` of the selected pods in their namespace. */
export function podMonitor(a: MonitorArgs): Record<string, unknown> {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: a.name, namespace: a.namespace, labels: a.labels },
    spec: {
      selector: { matchLabels: a.selector },
      namespaceSelector: { matchNames: [a.namespace] },
      podMetricsEndpoints: [
        {
          port: a.port,
          path: a.path ?? "/metrics",
          interval: "30s",
          ...(a.tls
            ? {
                scheme: "https",
                tlsConfig: {
                  ca: { secret: { name: a.tls.caSecret, key: a.tls.caKey } },
                  serverName: a.tls.serverName,
                },
              }
            : {}),
        },
      ],
    },
  };
}

export const CLOUDWATCH_EXPORTER_IMAGE = IMAGES.cloudwatchExporter.ref;
export const STACKDRIVER_EXPORTER_IMAGE = IMAGES.stackdriverExporter.ref;
export const CLOUDWATCH_EXPORTER_PORT = 9106;
export const STACKDRIVER_EXPORTER_PORT = 9255;

/** Container security that meets Pod Security "restricted" (exporters run as nobody). */
const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 65534,
  runAsGroup: 65534,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** The site's Pushgateway: basic auth from a web config Secret, metrics kept on a small volume. */
export function pushgatewayStatefulSetSpec(webConfigSecret: string): Record<string, unknown> {
  const labels = {
    "app.kubernetes.io/name": "pushgateway",
    "app.kubernetes.io/instance": PUSHGATEWAY_NAME,
  };
  return {
    replicas: 1,
    serviceName: PUSHGATEWAY_NAME,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        automountServiceAccountToken: false,
        securityContext: {
          runAsNonRoot: true,
          fsGroup: 65534,
          seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
          {
            name: "pushgateway",
            image: PUSHGATEWAY_IMAGE,
            args: [
              "--web.config.file=/etc/pushgateway/web-config.yml",
              "--persistence.file=/data/metrics",
              "--persistence.interval=1m",
            ],
            ports: [{ name: "http", containerPort: PUSHGATEWAY_PORT, protocol: "TCP" }],
            securityContext: restricted,
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
            readinessProbe: { tcpSocket: { port: PUSHGATEWAY_PORT }, periodSeconds: 10 },
            volumeMounts: [
              { name: "web-config", mountPath: "/etc/pushgateway", readOnly: true },
              { name: "data", mountPath: "/data" },
            ],
          },
        ],
        volumes: [
          { name: "web-config", secret: { secretName: webConfigSecret, defaultMode: 0o440 } },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
  };
}

/** Prometheus web config: every request needs the user's password (bcrypt hash). */
export function pushgatewayWebConfig(user: string, bcryptHash: string): string {
  return `basic_auth_users:\n  ${user}: ${JSON.stringify(bcryptHash)}\n`;
}

/** cloudwatch_exporter's config: S3 replication latency and pending operations of one bucket. */
export function cloudwatchExporterConfig(region: string, bucket: string): string {
  return JSON.stringify({
    region,
    period_seconds: 300,
    delay_seconds: 600,
    metrics: ["ReplicationLatency", "OperationsPendingReplication"].map((m) => ({
      aws_namespace: "AWS/S3",
      aws_metric_name: m,
      aws_dimensions: ["SourceBucket", "DestinationBucket", "RuleId"],
      aws_dimension_select: { SourceBucket: [bucket] },
      aws_statistics: ["Maximum"],
    })),
  });
}

/** A Deployment running one cloud metrics exporter under the given ServiceAccount (cloud identity). */
export function cloudExporterDeploymentSpec(a: {
  readonly cloud: "aws" | "gcp";
  readonly serviceAccount: string;
  readonly configMap?: string;
  readonly gcpProject?: string;
}): Record<string, unknown> {
  const labels = {
    "app.kubernetes.io/name": a.cloud === "aws" ? "cloudwatch-exporter" : "stackdriver-exporter",
  };
  const container =
    a.cloud === "aws"
      ? {
          name: "exporter",
          image: CLOUDWATCH_EXPORTER_IMAGE,
          args: ["/config/config.yml"],
          ports: [{ name: "metrics", containerPort: CLOUDWATCH_EXPORTER_PORT, protocol: "TCP" }],
          volumeMounts: [
            { name: "config", mountPath: "/config", readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
          ],
        }
      : {
          name: "exporter",
          image: STACKDRIVER_EXPORTER_IMAGE,
          args: [
            ...(a.gcpProject ? [`--google.project-id=${a.gcpProject}`] : []),
            "--monitoring.metrics-prefixes=storage.googleapis.com/replication",
            "--monitoring.metrics-interval=10m",
          ],
          ports: [{ name: "metrics", containerPort: STACKDRIVER_EXPORTER_PORT, protocol: "TCP" }],
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        };
  return {
    replicas: 1,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: a.serviceAccount,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            ...container,
            securityContext: restricted,
            resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } },
          },
        ],
        volumes: [
          ...(a.configMap ? [{ name: "config", configMap: { name: a.configMap } }] : []),
          { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
        ],
      },
    },
  };
}
