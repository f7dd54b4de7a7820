/**
 * `drstack:networkPolicy`: what the site's NetworkPolicies may reach beyond the cluster's own pods.
 * Every namespace drstack creates denies all ingress and egress by default; the allows below are
 * the only ways in and out (see docs/network.md).
 */
import type { Problems } from "../topology/errors";
import type { Shape } from "../topology/shape";

export const NETWORK_CONFIG_KEY = "networkPolicy";

export interface NetworkSettings {
  /** Namespace of the Prometheus that scrapes the site (by its `kubernetes.io/metadata.name`). Default `monitoring`. */
  readonly monitoringNamespace: string;
  /**
   * Source ranges of the Kubernetes control plane (the API server's pod proxy, which `drstack
   * failover`'s Kubernetes driver uses to reach Patroni's REST API). Default none: set it to your
   * control-plane / node CIDR where the driver must reach the pods.
   */
  readonly controlPlaneRanges: readonly string[];
  /** Destinations of HTTPS egress: the Kubernetes API (Patroni's DCS) and the object store (WAL, backups). Default `0.0.0.0/0` (cloud APIs have public addresses). */
  readonly httpsEgressRanges: readonly string[];
  /** Ports of the Kubernetes API server as pods reach it (after the Service's DNAT). Default 443 and 6443. */
  readonly apiServerPorts: readonly number[];
}

export const DEFAULT_NETWORK: NetworkSettings = {
  monitoringNamespace: "monitoring",
  controlPlaneRanges: [],
  httpsEgressRanges: ["0.0.0.0/0"],
  apiServerPorts: [443, 6443],
};

const CIDR: Shape = {
  kind: "string",
  pattern: /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/,
  hint: "use a CIDR such as 10.0.0.0/16",
};

export const NETWORK_SHAPE: Shape = {
  kind: "object",
  fields: {
    monitoringNamespace: {
      shape: {
        kind: "string",
        pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        hint: "use a namespace name",
      },
    },
    controlPlaneRanges: { shape: { kind: "array", items: CIDR } },
    httpsEgressRanges: { shape: { kind: "array", items: CIDR, minItems: 1 } },
    apiServerPorts: {
      shape: { kind: "array", items: { kind: "integer", min: 1, max: 65535 }, minItems: 1 },
    },
  },
};

/** `drstack:networkPolicy` with defaults applied (the value is already shape-checked). */
export function normalizeNetworkSettings(raw: unknown, _problems?: Problems): NetworkSettings {
  const r = (raw ?? {}) as Partial<NetworkSettings>;
  return {
    monitoringNamespace: r.monitoringNamespace ?? DEFAULT_NETWORK.monitoringNamespace,
    controlPlaneRanges: r.controlPlaneRanges ?? DEFAULT_NETWORK.controlPlaneRanges,
    httpsEgressRanges: r.httpsEgressRanges ?? DEFAULT_NETWORK.httpsEgressRanges,
    apiServerPorts: r.apiServerPorts ?? DEFAULT_NETWORK.apiServerPorts,
  };
}
