/**
 * Pure builders of the Kubernetes specs the RedisSentinel component sends: pod templates with a
 * restricted security context, zone spread, probes and the init container that writes a
 * writable config. Values that are Outputs (namespace) are passed through untouched.
 */
import { REDIS_EXPORTER_IMAGE, REDIS_EXPORTER_PORT } from "../monitoring/scrape";
import type * as pulumi from "@pulumi/pulumi";
import { PATHS, REDIS_PORT, SENTINEL_PORT } from "./scripts";
import type { ComputeResources, RedisSettings } from "./settings";

/** Kubernetes object names of one Redis + Sentinel deployment (in the data namespace). */
export interface RedisNames {
  readonly redis: string;
  readonly redisHeadless: string;
  readonly sentinel: string;
  readonly sentinelHeadless: string;
  readonly redisConfig: string;
  readonly sentinelConfig: string;
  readonly secret: string;
}

export function redisNames(base = "redis"): RedisNames {
  return {
    redis: base,
    redisHeadless: `${base}-headless`,
    sentinel: `${base}-sentinel`,
    sentinelHeadless: `${base}-sentinel-headless`,
    redisConfig: `${base}-config`,
    sentinelConfig: `${base}-sentinel-config`,
    secret: `${base}-auth`,
  };
}

export const CLUSTER_DOMAIN = "cluster.local";
export const PASSWORD_KEY = "password";
/** The image's `redis` user (official redis images). */
export const REDIS_UID = 999;

export function fqdn(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

export const podSecurityContext = {
  runAsNonRoot: true,
  runAsUser: REDIS_UID,
  runAsGroup: REDIS_UID,
  fsGroup: REDIS_UID,
  fsGroupChangePolicy: "OnRootMismatch",
  seccompProfile: { type: "RuntimeDefault" },
};

export const containerSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** Spread over zones (hard: losing a zone loses at most its share) and nodes (soft). */
export function spread(selector: Record<string, string>): object[] {
  return [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: selector },
    },
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: selector },
    },
  ];
}

function resources(r: ComputeResources): object {
  return { requests: { cpu: r.cpu, memory: r.memory }, limits: { memory: r.memory } };
}

const passwordEnv = (secret: string) => {
  const ref = { secretKeyRef: { name: secret, key: PASSWORD_KEY } };
  // redis-cli reads REDISCLI_AUTH, so probes and scripts never put the password on a command line.
  return [
    { name: "REDIS_PASSWORD", valueFrom: ref },
    { name: "REDISCLI_AUTH", valueFrom: ref },
  ];
};

const ping = (port: number) => ({
  exec: { command: ["sh", "-c", `redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`] },
});

export interface PodTemplateArgs {
  readonly settings: RedisSettings;
  readonly names: RedisNames;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** `primary`, `replica` (of the primary site) or `independent`. */
  readonly mode: string;
  /** Checksum of the rendered config: a change rolls the pods. */
  readonly configHash: string;
  /** Standby site replicating the primary: its master. */
  readonly upstream?: { readonly host: pulumi.Input<string>; readonly port: pulumi.Input<string> };
}

/** The Redis StatefulSet spec: 1 + replicas pods, PVCs for /data, role decided by the init container. */
/**
 * The init container that renders the writable config into the `run` volume from the mounted
 * ConfigMap (Sentinel rewrites its file at run time; Redis's gets the replica/master lines).
 */
function configInit(settings: RedisSettings, env: object[], script: string): object {
  return {
    name: "config",
    image: settings.image,
    command: ["sh", `${PATHS.config}/${script}`],
    env,
    securityContext: containerSecurityContext,
    resources: resources(settings.sentinelResources),
    volumeMounts: [
      { name: "config", mountPath: PATHS.config, readOnly: true },
      { name: "run", mountPath: PATHS.run },
    ],
  };
}

export function redisStatefulSetSpec(a: PodTemplateArgs): Record<string, unknown> {
  const { settings, names } = a;
  const env = [
    ...passwordEnv(names.secret),
    { name: "MODE", value: a.mode },
    { name: "MASTER_NAME", value: settings.masterName },
    { name: "REDIS_HEADLESS", value: fqdn(names.redisHeadless, a.namespace) },
    { name: "SENTINEL_SERVICE", value: fqdn(names.sentinel, a.namespace) },
    ...(a.upstream
      ? [
          { name: "UPSTREAM_HOST", value: a.upstream.host },
          { name: "UPSTREAM_PORT", value: a.upstream.port },
        ]
      : []),
  ];
  return {
    replicas: 1 + settings.replicas,
    serviceName: names.redisHeadless,
    podManagementPolicy: "Parallel",
    selector: { matchLabels: a.selector },
    template: {
      metadata: { labels: a.labels, annotations: { "drstack.io/config-hash": a.configHash } },
      spec: {
        securityContext: podSecurityContext,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 30,
        topologySpreadConstraints: spread(a.selector),
        initContainers: [configInit(settings, env, "redis-init.sh")],
        containers: [
          {
            name: "redis",
            image: settings.image,
            command: ["redis-server", `${PATHS.run}/redis.conf`],
            ports: [{ name: "redis", containerPort: REDIS_PORT }],
            env: passwordEnv(names.secret),
            securityContext: containerSecurityContext,
            resources: resources(settings.redisResources),
            readinessProbe: {
              ...ping(REDIS_PORT),
              initialDelaySeconds: 2,
              periodSeconds: 5,
              timeoutSeconds: 2,
              failureThreshold: 3,
            },
            livenessProbe: {
              ...ping(REDIS_PORT),
              initialDelaySeconds: 20,
              periodSeconds: 10,
              timeoutSeconds: 5,
              failureThreshold: 6,
            },
            volumeMounts: [
              { name: "data", mountPath: PATHS.data },
              { name: "run", mountPath: PATHS.run },
              { name: "tmp", mountPath: "/tmp" },
            ],
          },
        ],
        volumes: [
          { name: "config", configMap: { name: names.redisConfig, defaultMode: 0o444 } },
          { name: "run", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
          { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "data", labels: a.labels },
        spec: {
          accessModes: ["ReadWriteOnce"],
          ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}),
          resources: { requests: { storage: settings.storageSize } },
        },
      },
    ],
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
  };
}

/** The Sentinel StatefulSet spec: an odd number of sentinels, config copied to a writable volume. */
export function sentinelStatefulSetSpec(a: PodTemplateArgs): Record<string, unknown> {
  const { settings, names } = a;
  const env = [
    ...passwordEnv(names.secret),
    { name: "MASTER_NAME", value: settings.masterName },
    { name: "SENTINEL_HEADLESS", value: fqdn(names.sentinelHeadless, a.namespace) },
    { name: "SENTINELS", value: `${settings.sentinels}` },
  ];
  return {
    replicas: settings.sentinels,
    serviceName: names.sentinelHeadless,
    podManagementPolicy: "Parallel",
    selector: { matchLabels: a.selector },
    template: {
      metadata: { labels: a.labels, annotations: { "drstack.io/config-hash": a.configHash } },
      spec: {
        securityContext: podSecurityContext,
        automountServiceAccountToken: false,
        topologySpreadConstraints: spread(a.selector),
        initContainers: [configInit(settings, env, "sentinel-init.sh")],
        containers: [
          {
            name: "sentinel",
            image: settings.image,
            command: ["redis-sentinel", `${PATHS.run}/sentinel.conf`],
            ports: [{ name: "sentinel", containerPort: SENTINEL_PORT }],
            env: passwordEnv(names.secret),
            securityContext: containerSecurityContext,
            resources: resources(settings.sentinelResources),
            readinessProbe: {
              ...ping(SENTINEL_PORT),
              initialDelaySeconds: 2,
              periodSeconds: 5,
              timeoutSeconds: 2,
              failureThreshold: 3,
            },
            livenessProbe: {
              ...ping(SENTINEL_PORT),
              initialDelaySeconds: 20,
              periodSeconds: 10,
              timeoutSeconds: 5,
              failureThreshold: 6,
            },
            volumeMounts: [
              { name: "run", mountPath: PATHS.run },
              { name: "tmp", mountPath: "/tmp" },
            ],
          },
          // Sentinel's view (quorum, known sentinels and replicas) as Prometheus metrics:
          // redis_exporter recognises a Sentinel and exports redis_sentinel_*.
          {
            name: "exporter",
            image: REDIS_EXPORTER_IMAGE,
            env: [
              { name: "REDIS_ADDR", value: `redis://localhost:${SENTINEL_PORT}` },
              ...passwordEnv(names.secret).filter((e) => e.name === "REDIS_PASSWORD"),
            ],
            ports: [{ name: "metrics", containerPort: REDIS_EXPORTER_PORT }],
            securityContext: containerSecurityContext,
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
          },
        ],
        volumes: [
          { name: "config", configMap: { name: names.sentinelConfig, defaultMode: 0o444 } },
          // Sentinel's own state (known replicas, peers, epochs): re-learnt at start from the peers.
          { name: "run", emptyDir: { sizeLimit: "1Mi" } },
          { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
        ],
      },
    },
  };
}
