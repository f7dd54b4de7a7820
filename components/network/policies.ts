/**
 * Pure NetworkPolicy specs (networking.k8s.io/v1): a default deny of all ingress and egress in
 * every namespace drstack creates, DNS, and the explicit allows each service needs. Components
 * turn them into resources; the policy pack reads the same shapes back.
 */
import type { NetworkSettings } from "./settings";

export type Labels = Readonly<Record<string, string>>;
type Peer = Record<string, unknown>;
type Port = { protocol: "TCP" | "UDP"; port: number };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: Port[] };

export interface NetworkPolicySpec {
  readonly podSelector: { matchLabels?: Labels };
  readonly policyTypes: ("Ingress" | "Egress")[];
  readonly ingress?: Rule[];
  readonly egress?: Rule[];
}

/** Label of client pods allowed to reach PostgreSQL (5432) from any namespace. */
export const POSTGRES_CLIENT_LABEL = "drstack.io/postgres-client";
/** Label of client pods allowed to reach Redis (6379) and Sentinel (26379) from any namespace. */
export const REDIS_CLIENT_LABEL = "drstack.io/redis-client";
export const DEFAULT_DENY_NAME = "drstack-default-deny";
export const DNS_POLICY_NAME = "drstack-allow-dns";

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ protocol: "TCP", port }));
const namespaceNamed = (name: string): Peer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});
const cidrs = (ranges: readonly string[]): Peer[] => ranges.map((cidr) => ({ ipBlock: { cidr } }));
const clientsLabelled = (label: string): Peer => ({
  namespaceSelector: {},
  podSelector: { matchLabels: { [label]: "true" } },
});

/** Selects every pod of the namespace and allows nothing: the base every allow adds to. */
export function defaultDenySpec(): NetworkPolicySpec {
  return { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
}

/** Every pod may resolve names through the cluster DNS (CoreDNS / kube-dns, label k8s-app=kube-dns). */
export function dnsEgressSpec(): NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [
      {
        to: [
          {
            ...namespaceNamed("kube-system"),
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
        ],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
    ],
  };
}

export interface PostgresNetworkArgs {
  readonly podLabels: Labels;
  readonly backupNamespaceLabels: Labels;
  /** Other sites' networks (their standbys connect through the replication load balancer; a standby connects to them). */
  readonly siteRanges: readonly string[];
  readonly ports: {
    readonly postgres: number;
    readonly patroni: number;
    readonly pgbackrest: number;
  };
  readonly network: NetworkSettings;
}

/**
 * The Patroni pods: PostgreSQL from members, labelled clients and other sites' standbys; the REST
 * API from members, Prometheus and the control plane; pgBackRest's TLS server only from the backup
 * namespace. Out: members, the Kubernetes API (the DCS), the object store, other sites' PostgreSQL.
 */
export function postgresNetworkSpec(a: PostgresNetworkArgs): NetworkPolicySpec {
  const members: Peer = { podSelector: { matchLabels: a.podLabels } };
  const { postgres, patroni, pgbackrest } = a.ports;
  return {
    podSelector: { matchLabels: a.podLabels },
    policyTypes: ["Ingress", "Egress"],
    ingress: [
      { from: [members], ports: tcp(postgres, patroni) },
      { from: [clientsLabelled(POSTGRES_CLIENT_LABEL)], ports: tcp(postgres) },
      ...(a.siteRanges.length ? [{ from: cidrs(a.siteRanges), ports: tcp(postgres) }] : []),
      {
        from: [{ namespaceSelector: { matchLabels: a.backupNamespaceLabels } }],
        ports: tcp(pgbackrest),
      },
      { from: [namespaceNamed(a.network.monitoringNamespace)], ports: tcp(patroni) },
      ...(a.network.controlPlaneRanges.length
        ? [{ from: cidrs(a.network.controlPlaneRanges), ports: tcp(patroni) }]
        : []),
    ],
    egress: [
      { to: [members], ports: tcp(postgres, patroni) },
      {
        to: cidrs(a.network.httpsEgressRanges),
        ports: tcp(...new Set([443, ...a.network.apiServerPorts])),
      },
      ...(a.siteRanges.length ? [{ to: cidrs(a.siteRanges), ports: tcp(postgres) }] : []),
    ],
  };
}

export interface RedisNetworkArgs {
  readonly redisLabels: Labels;
  readonly sentinelLabels: Labels;
  readonly backupNamespaceLabels: Labels;
  readonly siteRanges: readonly string[];
  readonly ports: { readonly redis: number; readonly sentinel: number; readonly exporter?: number };
  readonly network: NetworkSettings;
}

/** Redis servers: from servers, sentinels, labelled clients, the backup jobs and other sites' replicas. */
export function redisNetworkSpec(a: RedisNetworkArgs): NetworkPolicySpec {
  const servers: Peer = { podSelector: { matchLabels: a.redisLabels } };
  const sentinels: Peer = { podSelector: { matchLabels: a.sentinelLabels } };
  return {
    podSelector: { matchLabels: a.redisLabels },
    policyTypes: ["Ingress", "Egress"],
    ingress: [
      {
        from: [
          servers,
          sentinels,
          clientsLabelled(REDIS_CLIENT_LABEL),
          { namespaceSelector: { matchLabels: a.backupNamespaceLabels } },
        ],
        ports: tcp(a.ports.redis),
      },
      ...(a.siteRanges.length ? [{ from: cidrs(a.siteRanges), ports: tcp(a.ports.redis) }] : []),
    ],
    egress: [
      { to: [servers], ports: tcp(a.ports.redis) },
      ...(a.siteRanges.length ? [{ to: cidrs(a.siteRanges), ports: tcp(a.ports.redis) }] : []),
    ],
  };
}

/** Sentinels: from sentinels, labelled clients and Prometheus (the exporter); out to servers and sentinels. */
export function sentinelNetworkSpec(a: RedisNetworkArgs): NetworkPolicySpec {
  const servers: Peer = { podSelector: { matchLabels: a.redisLabels } };
  const sentinels: Peer = { podSelector: { matchLabels: a.sentinelLabels } };
  return {
    podSelector: { matchLabels: a.sentinelLabels },
    policyTypes: ["Ingress", "Egress"],
    ingress: [
      { from: [sentinels, clientsLabelled(REDIS_CLIENT_LABEL)], ports: tcp(a.ports.sentinel) },
      ...(a.ports.exporter
        ? [{ from: [namespaceNamed(a.network.monitoringNamespace)], ports: tcp(a.ports.exporter) }]
        : []),
    ],
    egress: [
      { to: [servers], ports: tcp(a.ports.redis) },
      { to: [sentinels], ports: tcp(a.ports.sentinel) },
    ],
  };
}

export interface BackupNetworkArgs {
  readonly dataNamespace?: string;
  readonly postgresPodLabels?: Labels;
  readonly redisLabels?: Labels;
  readonly ports: {
    readonly pgbackrest: number;
    readonly redis: number;
    readonly pushgateway: number;
  };
  readonly network: NetworkSettings;
}

/**
 * Backup and restore-verify jobs: nothing comes in; out to pgBackRest's TLS server and Redis in the
 * data namespace, the object store (HTTPS) and the Pushgateway in the monitoring namespace.
 */
export function backupNetworkSpec(a: BackupNetworkArgs): NetworkPolicySpec {
  const data = a.dataNamespace ? namespaceNamed(a.dataNamespace) : undefined;
  return {
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
    ingress: [],
    egress: [
      ...(data && a.postgresPodLabels
        ? [
            {
              to: [{ ...data, podSelector: { matchLabels: a.postgresPodLabels } }],
              ports: tcp(a.ports.pgbackrest),
            },
          ]
        : []),
      ...(data && a.redisLabels
        ? [
            {
              to: [{ ...data, podSelector: { matchLabels: a.redisLabels } }],
              ports: tcp(a.ports.redis),
            },
          ]
        : []),
      { to: cidrs(a.network.httpsEgressRanges), ports: tcp(443) },
      // The site's Pushgateway beside the jobs, or one in the monitoring namespace.
      {
        to: [
          { podSelector: { matchLabels: { "app.kubernetes.io/name": "pushgateway" } } },
          namespaceNamed(a.network.monitoringNamespace),
        ],
        ports: tcp(a.ports.pushgateway),
      },
    ],
  };
}
