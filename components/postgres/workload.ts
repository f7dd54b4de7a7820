/**
 * The Patroni pod and StatefulSet spec as plain data (pure): restricted security context, zone
 * spread, hostname anti-affinity, probes on Patroni's REST API, passwords from the Secret,
 * per-pod addresses through the downward API.
 */
import {
  CONFIG_DIR,
  DATA_MOUNT,
  PATRONI_TLS_DIR,
  PATRONI_FILE,
  PATRONI_PORT,
  PGBACKREST_FILE,
  PGBACKREST_PRIMARY_FILE,
  POST_INIT_FILE,
  POSTGRES_PORT,
  PRIMARY_REPO_INDEX,
  TMP_DIR,
} from "./kubernetes";
import type { PostgresSettings } from "./settings";
import {
  PGBACKREST_TLS_DIR,
  PGBACKREST_TLS_PORT,
  pgBackRestServerCommand,
  tlsRenewedCheck,
} from "./tls";

type Obj = Record<string, unknown>;

/** Keys of the credentials Secret. */
export const SECRET_KEYS = {
  superuser: "superuser-password",
  replication: "replication-password",
  rewind: "rewind-password",
  app: "app-password",
  cipherPass: "repo1-cipher-pass",
  /** Basic auth password of Patroni's REST API (user `RESTAPI_USERNAME`). */
  restApi: "restapi-password",
  primaryCipherPass: `repo${PRIMARY_REPO_INDEX}-cipher-pass`,
} as const;

export interface WorkloadNames {
  /** Patroni scope; also the StatefulSet, primary Service and stanza name. */
  readonly scope: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly configMap: string;
  readonly secret: string;
  /** Headless Service governing the StatefulSet. */
  readonly headlessService: string;
  /** Labels selecting the cluster's pods (immutable selector). */
  readonly selector: Readonly<Record<string, string>>;
  /** Extra labels on the pods (site, region, role...). */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly zones: readonly string[];
  /** Secret with the pgBackRest TLS server's `ca.crt`, `tls.crt`, `tls.key` (mounted 0600). */
  readonly tlsSecret: string;
  /** Standby sites read the primary's repository and need its passphrase. */
  readonly standby: boolean;
  /** Hash of the rendered configuration; a change rolls the pods. */
  readonly configHash: string;
}

const secretEnv = (name: string, secret: string, key: string): Obj => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});
const fieldEnv = (name: string, fieldPath: string): Obj => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

/** Container environment: who the pod is (downward API) and its passwords (Secret). */
export function patroniEnv(n: WorkloadNames): Obj[] {
  return [
    fieldEnv("PATRONI_NAME", "metadata.name"),
    fieldEnv("PATRONI_KUBERNETES_POD_IP", "status.podIP"),
    fieldEnv("POD_IP", "status.podIP"),
    { name: "PATRONI_POSTGRESQL_CONNECT_ADDRESS", value: `$(POD_IP):${POSTGRES_PORT}` },
    // The member's DNS name (in the server certificate), so patronictl verifies whom it calls.
    {
      name: "PATRONI_RESTAPI_CONNECT_ADDRESS",
      value: `$(PATRONI_NAME).${n.headlessService}.${n.namespace}.svc:${PATRONI_PORT}`,
    },
    secretEnv("PATRONI_RESTAPI_PASSWORD", n.secret, SECRET_KEYS.restApi),
    secretEnv("PATRONI_SUPERUSER_PASSWORD", n.secret, SECRET_KEYS.superuser),
    secretEnv("PATRONI_REPLICATION_PASSWORD", n.secret, SECRET_KEYS.replication),
    secretEnv("PATRONI_REWIND_PASSWORD", n.secret, SECRET_KEYS.rewind),
    secretEnv("DRSTACK_APP_PASSWORD", n.secret, SECRET_KEYS.app),
    secretEnv("PGBACKREST_REPO1_CIPHER_PASS", n.secret, SECRET_KEYS.cipherPass),
    ...(n.standby
      ? [
          secretEnv(
            `PGBACKREST_REPO${PRIMARY_REPO_INDEX}_CIPHER_PASS`,
            n.secret,
            SECRET_KEYS.primaryCipherPass,
          ),
        ]
      : []),
  ];
}

/** Container security context of the restricted Pod Security Standard (and a read-only root). */
const restricted = (): Obj => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
});

/**
 * The `pgbackrest server` sidecar: the TLS endpoint the backup jobs (`pg1-host-type=tls`) reach
 * the database host through. Same image and pgbackrest.conf as Patroni (its `tls-server-*`
 * options), PGDATA read-only, the PostgreSQL socket and lock directory through the shared /tmp;
 * restarted by its liveness check when the mounted certificates are renewed.
 */
export function pgBackRestServerContainer(settings: PostgresSettings, n: WorkloadNames): Obj {
  return {
    name: "pgbackrest",
    image: settings.image,
    command: pgBackRestServerCommand(`${CONFIG_DIR}/${PGBACKREST_FILE}`),
    ports: [{ name: "pgbackrest", containerPort: PGBACKREST_TLS_PORT, protocol: "TCP" }],
    env: [secretEnv("PGBACKREST_REPO1_CIPHER_PASS", n.secret, SECRET_KEYS.cipherPass)],
    readinessProbe: {
      tcpSocket: { port: "pgbackrest" },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    // A dead server exits (it is PID 1); a renewed certificate restarts it through this check.
    livenessProbe: {
      exec: { command: tlsRenewedCheck(PGBACKREST_TLS_DIR) },
      initialDelaySeconds: 30,
      periodSeconds: 60,
      timeoutSeconds: 5,
      failureThreshold: 1,
    },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
    securityContext: restricted(),
    volumeMounts: [
      { name: "pgdata", mountPath: DATA_MOUNT, readOnly: true },
      { name: "config", mountPath: CONFIG_DIR, readOnly: true },
      { name: "tmp", mountPath: TMP_DIR },
      { name: "pgbackrest-tls", mountPath: PGBACKREST_TLS_DIR, readOnly: true },
    ],
  };
}

/** The StatefulSet `spec` of the cluster. */
export function patroniStatefulSetSpec(settings: PostgresSettings, n: WorkloadNames): Obj {
  const probe = (path: string, failureThreshold: number) => ({
    httpGet: { path, port: "patroni", scheme: "HTTPS" },
    periodSeconds: 5,
    timeoutSeconds: 3,
    failureThreshold,
  });
  const configItems = [
    PATRONI_FILE,
    PGBACKREST_FILE,
    ...(n.standby ? [PGBACKREST_PRIMARY_FILE] : []),
    POST_INIT_FILE,
  ].map((key) => ({
    key,
    path: key,
    mode: key === POST_INIT_FILE ? 0o555 : 0o444,
  }));
  return {
    replicas: settings.members,
    serviceName: n.headlessService,
    podManagementPolicy: "Parallel",
    updateStrategy: { type: "RollingUpdate" },
    selector: { matchLabels: { ...n.selector } },
    template: {
      metadata: {
        labels: { ...n.podLabels, ...n.selector },
        annotations: {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(PATRONI_PORT),
          "prometheus.io/path": "/metrics",
          "drstack.io/config-hash": n.configHash,
        },
      },
      spec: {
        serviceAccountName: n.serviceAccount,
        automountServiceAccountToken: true,
        terminationGracePeriodSeconds: 30,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: settings.runAsUser,
          runAsGroup: settings.runAsUser,
          fsGroup: settings.runAsUser,
          seccompProfile: { type: "RuntimeDefault" },
        },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { ...n.selector } },
          },
        ],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: "topology.kubernetes.io/zone", operator: "In", values: [...n.zones] },
                  ],
                },
              ],
            },
          },
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: { ...n.selector } },
              },
            ],
          },
        },
        containers: [
          {
            name: "patroni",
            image: settings.image,
            command: ["patroni", `${CONFIG_DIR}/${PATRONI_FILE}`],
            ports: [
              { name: "postgresql", containerPort: POSTGRES_PORT, protocol: "TCP" },
              { name: "patroni", containerPort: PATRONI_PORT, protocol: "TCP" },
            ],
            env: patroniEnv(n),
            readinessProbe: probe("/readiness", 3),
            livenessProbe: { ...probe("/liveness", 6), initialDelaySeconds: 10 },
            resources: {
              requests: { ...settings.resources.requests },
              limits: { ...settings.resources.limits },
            },
            securityContext: restricted(),
            volumeMounts: [
              { name: "pgdata", mountPath: DATA_MOUNT },
              { name: "config", mountPath: CONFIG_DIR, readOnly: true },
              { name: "tmp", mountPath: TMP_DIR },
              { name: "dshm", mountPath: "/dev/shm" },
              { name: "pgbackrest-tls", mountPath: PATRONI_TLS_DIR, readOnly: true },
            ],
          },
          pgBackRestServerContainer(settings, n),
        ],
        volumes: [
          { name: "config", configMap: { name: n.configMap, items: configItems } },
          // 0600: pgBackRest refuses a key others can read. With fsGroup the kubelet makes the
          // files root:<fsGroup> 0640, which pgBackRest (like PostgreSQL) accepts from root.
          { name: "pgbackrest-tls", secret: { secretName: n.tlsSecret, defaultMode: 0o600 } },
          { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
          { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "256Mi" } },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "pgdata", labels: { ...n.selector } },
        spec: {
          accessModes: ["ReadWriteOnce"],
          ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}),
          resources: { requests: { storage: settings.storageSize } },
        },
      },
    ],
  };
}
