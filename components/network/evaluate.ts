/**
 * NetworkPolicy semantics (networking.k8s.io/v1), as a pure function: may a connection from one
 * endpoint reach another on a port? A pod selected by no policy of a direction is open in that
 * direction; once selected, only what some selecting policy's rules allow passes; a connection
 * needs the source's egress and the destination's ingress. Used by tests and the policy pack to
 * check flows, not only object shapes.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Endpoint {
  /** A pod: its namespace (with the namespace's labels) and labels. */
  readonly pod?: {
    readonly namespace: string;
    readonly namespaceLabels: Readonly<Record<string, string>>;
    readonly labels: Readonly<Record<string, string>>;
  };
  /** Outside the cluster's pods: an IPv4 address. */
  readonly ip?: string;
}

export interface PolicyObject {
  readonly namespace: string;
  readonly spec: Obj;
}

function matches(selector: Obj | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Obj[]) {
    const has = e.key in labels;
    const val = labels[e.key];
    if (e.operator === "In" && !(has && e.values.includes(val))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(val)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}

/** Whether an IPv4 address is inside a CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  if (base.includes(":") || ip.includes(":")) return false;
  const n = Number(bits);
  const mask = n === 0 ? 0 : 2 ** 32 - 2 ** (32 - n);
  return (ipToInt(ip) & mask) >>> 0 === (ipToInt(base) & mask) >>> 0;
}

/** Whether `peer` (a from/to entry of a policy in `policyNamespace`) covers `ep`. */
function peerCovers(peer: Obj, policyNamespace: string, ep: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!ep.ip) return false;
    return (
      inCidr(ep.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c: string) => inCidr(ep.ip!, c))
    );
  }
  if (!ep.pod) return false;
  if (peer.namespaceSelector) {
    return (
      matches(peer.namespaceSelector, ep.pod.namespaceLabels) &&
      matches(peer.podSelector, ep.pod.labels)
    );
  }
  return ep.pod.namespace === policyNamespace && matches(peer.podSelector, ep.pod.labels);
}

function portCovers(ports: Obj[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (p) =>
      (p.protocol ?? "TCP") === protocol &&
      (p.port === undefined || (p.port <= port && port <= (p.endPort ?? p.port))),
  );
}

function allowedBy(
  policies: readonly PolicyObject[],
  self: NonNullable<Endpoint["pod"]>,
  other: Endpoint,
  direction: "Ingress" | "Egress",
  port: number,
  protocol: string,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.namespace === self.namespace &&
      matches(p.spec.podSelector ?? {}, self.labels) &&
      (
        (p.spec.policyTypes as string[] | undefined) ?? [
          "Ingress",
          ...(p.spec.egress ? ["Egress"] : []),
        ]
      ).includes(direction),
  );
  if (selecting.length === 0) return true;
  const key = direction === "Ingress" ? "ingress" : "egress";
  const peers = direction === "Ingress" ? "from" : "to";
  return selecting.some((p) =>
    ((p.spec[key] ?? []) as Obj[]).some(
      (rule) =>
        portCovers(rule.ports, port, protocol) &&
        (rule[peers] === undefined ||
          (rule[peers] as Obj[]).length === 0 ||
          (rule[peers] as Obj[]).some((peer) => peerCovers(peer, p.namespace, other))),
    ),
  );
}

/** Whether `from` may open a connection to `to` on `port` under `policies`. */
export function connectionAllowed(
  policies: readonly PolicyObject[],
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol: "TCP" | "UDP" = "TCP",
): boolean {
  const egress = from.pod ? allowedBy(policies, from.pod, to, "Egress", port, protocol) : true;
  const ingress = to.pod ? allowedBy(policies, to.pod, from, "Ingress", port, protocol) : true;
  return egress && ingress;
}
