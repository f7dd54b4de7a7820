/**
 * The network topology model: one file (`stacks/network.yaml`) shared by every stack.
 * Pure data; no Pulumi imports.
 */

import type { ManagedCluster } from "./managedCluster";

import type { Cloud } from "./clouds";
export { CLOUDS, type Cloud } from "./clouds";

export const SITE_ROLES = ["primary", "standby"] as const;
export type SiteRole = (typeof SITE_ROLES)[number];

/** Services a site runs. A validators-only site lends voting power and zones, no data services. */
export const SERVICES = ["validators", "postgres", "redis", "backup"] as const;
export type Service = (typeof SERVICES)[number];

/** Failure scenarios with recovery objectives, as the operators' DR guides name them. */
export const SCENARIOS = ["node", "zone", "region", "full", "corruption", "keyCompromise"] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** Scenarios every network must declare objectives for. */
export const REQUIRED_SCENARIOS: readonly Scenario[] = ["node", "zone", "region", "full"];

export interface KubernetesAccess {
  /** kubeconfig context of the site's cluster. Default: the kubeconfig's current context. */
  readonly context?: string;
  /** Path of a kubeconfig file. Default: the stack's `drstack:kubeconfig`, else the ambient one. */
  readonly kubeconfig?: string;
  /** Bring your own: read the kubeconfig (a secret) from another stack's output. Default: none. */
  readonly stackOutput?: { readonly stack: string; readonly output: string };
  /**
   * The stack creates the site's cluster (EKS or GKE, by `cloud`) and deploys onto it; exclusive
   * with `context`, `kubeconfig` and `stackOutput`. Defaults in docs/clusters.md. Default: none.
   */
  readonly managed?: ManagedCluster;
}

export interface Site {
  readonly name: string;
  readonly role: SiteRole;
  readonly cloud: Cloud;
  readonly region: string;
  /** At least two zones, named after the region (`us-east-1a`, `europe-west1-b`). */
  readonly zones: readonly string[];
  readonly kubernetes: KubernetesAccess;
  /** Default: every service. */
  readonly services: readonly Service[];
}

export interface Validator {
  readonly name: string;
  readonly site: string;
  readonly zone: string;
  /** Positive integer. */
  readonly votingPower: number;
  /** Parties this validator hosts. Default: none. */
  readonly parties: readonly string[];
  /**
   * Public halves of the validator's CometBFT keys (base64 ed25519): `validator` (consensus key,
   * in genesis) and `node` (p2p key; its ID is in every peer list). The private halves live in
   * the validator's key Secret. Absent: the validator is left out of genesis and peer lists (the
   * policy pack's `genesis-powers` rule fails).
   */
  readonly keys?: { readonly validator: string; readonly node: string };
}

/** A base64 ed25519 public key (32 bytes): 42 base64 characters, one of 16 final ones, `=`. */
export const PUB_KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Genesis time when the network file names none. */
export const DEFAULT_GENESIS_TIME = "2026-01-01T00:00:00Z";

/** The CometBFT chain the validators run. */
export interface Chain {
  /** `chain_id` (at most 50 characters). Default: the network's name. */
  readonly id: string;
  /** `genesis_time` (RFC 3339, UTC). Default `2026-01-01T00:00:00Z`. */
  readonly genesisTime: string;
  /**
   * An existing chain's genesis, supplied by the operator and pinned by its sha256 (hex): used
   * as is instead of the genesis rendered from `validators`.
   */
  readonly genesis?: { readonly file: string; readonly sha256: string };
}

export interface Party {
  readonly name: string;
  /** Confirmations needed from the party's hosting validators (1 <= threshold <= hosts). */
  readonly threshold: number;
}

export interface Objective {
  /** Recovery time objective, in seconds. */
  readonly rtoSeconds: number;
  /** Recovery point objective (tolerated data loss), in seconds. */
  readonly rpoSeconds: number;
  /** As written in the file, e.g. `{ rto: "5m", rpo: "0s" }`. */
  readonly rto: string;
  readonly rpo: string;
}

export interface Network {
  readonly name: string;
  /**
   * The site whose stack generates the data services' shared credentials (PostgreSQL role
   * passwords, the Redis password); every other site reads them from that stack's outputs. It
   * does not move with the primary role: a promoted site keeps the passwords its replicated data
   * was created with. Default: the primary site (the failover flip pins it when unset).
   */
  readonly credentialsSite?: string;
  readonly sites: readonly Site[];
  /** Default: id = the network's name, genesisTime 2026-01-01T00:00:00Z, genesis rendered. */
  readonly chain?: Chain;
  readonly validators: readonly Validator[];
  readonly parties: readonly Party[];
  readonly objectives: Readonly<Partial<Record<Scenario, Objective>>>;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `500ms`, `30s`, `5m`, `4h`, `1d` into seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${Number(seconds.toFixed(3))}s`;
}

export function siteByName(network: Network, name: string): Site | undefined {
  return network.sites.find((s) => s.name === name);
}

export function primarySite(network: Network): Site {
  const p = network.sites.find((s) => s.role === "primary");
  if (!p) throw new Error("network has no primary site (validation should have caught this)");
  return p;
}

/** The site whose stack generates the shared credentials (`credentialsSite`, else the primary). */
export function credentialsSite(network: Network): Site {
  const name = network.credentialsSite;
  return (name === undefined ? undefined : siteByName(network, name)) ?? primarySite(network);
}

export function validatorsOf(network: Network, site: string): Validator[] {
  return network.validators.filter((v) => v.site === site);
}

export function hasService(site: Site, service: Service): boolean {
  return site.services.includes(service);
}
