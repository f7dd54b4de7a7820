/**
 * Validator settings: the `drstack:validators` stack config key (structured), its shape, defaults
 * and cross-field checks. Pure.
 *
 * ```yaml
 * drstack:validators:
 *   image: cometbft/cometbft:v0.38.17
 *   resources: { cpu: "1", memory: 4Gi }
 *   storage: { size: 200Gi, storageClass: gp3 }
 *   gateway: { type: LoadBalancer, sourceRanges: [203.0.113.0/24] }
 *   keySecret: "{validator}-keys"
 * ```
 */
import { IMAGES } from "../shared/images";
import { fieldPath, type Problems } from "../topology/errors";
import type { Shape } from "../topology/shape";

export const GATEWAY_TYPES = ["ClusterIP", "LoadBalancer"] as const;
export type GatewayType = (typeof GATEWAY_TYPES)[number];

/** Placeholder in `keySecret` replaced by each validator's name. */
export const VALIDATOR_PLACEHOLDER = "{validator}";

export interface ValidatorSettings {
  /** Validator image. Default `cometbft/cometbft:v0.38.17`. */
  readonly image: string;
  /** CPU and memory requests (memory is also the limit). Default cpu `500m`, memory `2Gi`. */
  readonly resources: { readonly cpu: string; readonly memory: string };
  /** State volume per validator. Default size `100Gi`, the cluster's default storage class. */
  readonly storage: { readonly size: string; readonly storageClass?: string };
  /** Gateway Service in front of the site's validators. Default type `ClusterIP`, no source ranges. */
  readonly gateway: { readonly type: GatewayType; readonly sourceRanges: readonly string[] };
  /**
   * Name of the existing Secret holding each validator's key material; must contain
   * `{validator}` so no two validators share a key. Default `{validator}-keys`.
   * drstack never creates or reads it: it is only mounted.
   */
  readonly keySecret: string;
  /** CIDRs allowed to reach the P2P port. Default `["0.0.0.0/0"]` (peers are on the internet). */
  readonly p2pSourceRanges: readonly string[];
  /** Ports. Default p2p 26656, rpc 26657, metrics 26660. */
  readonly ports: { readonly p2p: number; readonly rpc: number; readonly metrics: number };
  /**
   * The stable DNS name other nodes dial (config.toml `p2p.external_address` and every
   * `persistent_peers` entry); `{node}`, `{site}` and `{network}` are replaced. Point it at the
   * node's P2P endpoint (e.g. with external-dns). Default `{node}.{site}.{network}.drstack.internal`.
   */
  readonly p2pHost: string;
  /**
   * config.toml `proxy_app`: the ABCI application. Default `kvstore` (built into the
   * cometbft binary); a chain's own binary uses its in-process app (`""`) or a socket address.
   */
  readonly proxyApp: string;
  /** Consensus settings written to config.toml `[consensus]` (Go durations). */
  readonly consensus: {
    /** Default `3s`. */
    readonly timeoutPropose: string;
    /** Default `1s`. */
    readonly timeoutPrevote: string;
    /** Default `1s`. */
    readonly timeoutPrecommit: string;
    /** Default `1s`. */
    readonly timeoutCommit: string;
    /**
     * Blocks CometBFT looks back for this validator's own signature before it signs (a second
     * instance with the same key then stops instead of double-signing). Default 10; must be > 0.
     */
    readonly doubleSignCheckHeight: number;
  };
}

export const VALIDATOR_DEFAULTS: ValidatorSettings = {
  image: IMAGES.cometbft.ref,
  resources: { cpu: "500m", memory: "2Gi" },
  storage: { size: "100Gi" },
  gateway: { type: "ClusterIP", sourceRanges: [] },
  keySecret: `${VALIDATOR_PLACEHOLDER}-keys`,
  p2pSourceRanges: ["0.0.0.0/0"],
  ports: { p2p: 26656, rpc: 26657, metrics: 26660 },
  p2pHost: "{node}.{site}.{network}.drstack.internal",
  proxyApp: "kvstore",
  consensus: {
    timeoutPropose: "3s",
    timeoutPrevote: "1s",
    timeoutPrecommit: "1s",
    timeoutCommit: "1s",
    doubleSignCheckHeight: 10,
  },
};

const GO_DURATION: Shape = {
  kind: "string",
  pattern: /^[0-9]+(\.[0-9]+)?(ms|s|m)$/,
  hint: 'a Go duration such as "1s" or "500ms"',
};

const QUANTITY: Shape = {
  kind: "string",
  pattern: /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/,
  hint: 'a Kubernetes quantity such as "500m", "2Gi" or "100Gi"',
};
const CIDR: Shape = {
  kind: "string",
  pattern: /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/,
  hint: "a CIDR such as 203.0.113.0/24",
};
const PORT: Shape = { kind: "integer", min: 1, max: 65535 };

/** The shape of `drstack:validators` (every field optional; defaults in {@link VALIDATOR_DEFAULTS}). */
export const VALIDATORS_SHAPE: Shape = {
  kind: "object",
  fields: {
    image: {
      shape: {
        kind: "string",
        pattern: /^\S+$/,
        hint: "an image reference such as cometbft/cometbft:v0.38.17",
      },
    },
    resources: {
      shape: { kind: "object", fields: { cpu: { shape: QUANTITY }, memory: { shape: QUANTITY } } },
    },
    storage: {
      shape: {
        kind: "object",
        fields: {
          size: { shape: QUANTITY },
          storageClass: {
            shape: {
              kind: "string",
              pattern: /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
              hint: "a StorageClass name",
            },
          },
        },
      },
    },
    gateway: {
      shape: {
        kind: "object",
        fields: {
          type: { shape: { kind: "string", enum: GATEWAY_TYPES } },
          sourceRanges: { shape: { kind: "array", items: CIDR } },
        },
      },
    },
    keySecret: {
      shape: {
        kind: "string",
        pattern: /^[a-z0-9{}]([a-z0-9.{}-]*[a-z0-9{}])?$/,
        hint: 'a Secret name containing {validator}, e.g. "{validator}-keys"',
      },
    },
    p2pSourceRanges: { shape: { kind: "array", items: CIDR, minItems: 1 } },
    ports: {
      shape: {
        kind: "object",
        fields: { p2p: { shape: PORT }, rpc: { shape: PORT }, metrics: { shape: PORT } },
      },
    },
    p2pHost: {
      shape: {
        kind: "string",
        pattern: /^[a-z0-9{}]([a-z0-9.{}-]*[a-z0-9{}])?$/,
        hint: 'a DNS name template such as "{node}.{site}.p2p.example.org"',
      },
    },
    proxyApp: { shape: { kind: "string" } },
    consensus: {
      shape: {
        kind: "object",
        fields: {
          timeoutPropose: { shape: GO_DURATION },
          timeoutPrevote: { shape: GO_DURATION },
          timeoutPrecommit: { shape: GO_DURATION },
          timeoutCommit: { shape: GO_DURATION },
          doubleSignCheckHeight: { shape: { kind: "integer", min: 1 } },
        },
      },
    },
  },
};

type Raw = Partial<
  Omit<ValidatorSettings, "resources" | "storage" | "gateway" | "ports" | "consensus">
> & {
  consensus?: Partial<ValidatorSettings["consensus"]>;
  resources?: Partial<ValidatorSettings["resources"]>;
  storage?: Partial<ValidatorSettings["storage"]>;
  gateway?: Partial<ValidatorSettings["gateway"]>;
  ports?: Partial<ValidatorSettings["ports"]>;
};

/** Cross-field checks of a shape-checked `drstack:validators` (for `SITE_CONFIG_KEYS`). */
export function checkValidatorsConfig(value: unknown, path: string, problems: Problems): void {
  normalizeValidatorSettings(value, problems, path);
}

/** The key Secret of one validator. */
export function keySecretName(
  settings: Pick<ValidatorSettings, "keySecret">,
  validator: string,
): string {
  return settings.keySecret.split(VALIDATOR_PLACEHOLDER).join(validator);
}

/** Settings with defaults applied; problems (with field paths) for unsafe combinations. */
export function normalizeValidatorSettings(
  raw: unknown,
  problems: Problems,
  path = "config.drstack:validators",
): ValidatorSettings {
  const r = (raw ?? {}) as Raw;
  const d = VALIDATOR_DEFAULTS;
  const s: ValidatorSettings = {
    image: r.image ?? d.image,
    resources: { ...d.resources, ...r.resources },
    storage: { ...d.storage, ...r.storage },
    gateway: { ...d.gateway, ...r.gateway },
    keySecret: r.keySecret ?? d.keySecret,
    p2pSourceRanges: r.p2pSourceRanges ?? d.p2pSourceRanges,
    ports: { ...d.ports, ...r.ports },
    p2pHost: r.p2pHost ?? d.p2pHost,
    proxyApp: r.proxyApp ?? d.proxyApp,
    consensus: { ...d.consensus, ...r.consensus },
  };
  if (!s.p2pHost.includes("{node}"))
    problems.add(
      fieldPath(path, "p2pHost"),
      `${JSON.stringify(s.p2pHost)} gives every node the same address`,
      'include {node}, e.g. "{node}.{site}.p2p.example.org"',
    );
  if (!s.keySecret.includes(VALIDATOR_PLACEHOLDER)) {
    problems.add(
      fieldPath(path, "keySecret"),
      `${JSON.stringify(s.keySecret)} names one Secret for every validator: validators sharing a key double-sign`,
      `include ${VALIDATOR_PLACEHOLDER}, e.g. "${VALIDATOR_PLACEHOLDER}-keys"`,
    );
  } else if (/[{}]/.test(s.keySecret.split(VALIDATOR_PLACEHOLDER).join(""))) {
    problems.add(
      fieldPath(path, "keySecret"),
      `${JSON.stringify(s.keySecret)}: only the placeholder ${VALIDATOR_PLACEHOLDER} may use braces`,
      `e.g. "${VALIDATOR_PLACEHOLDER}-keys"`,
    );
  }
  const ports = Object.entries(s.ports);
  const seen = new Map<number, string>();
  for (const [k, v] of ports) {
    if (seen.has(v))
      problems.add(
        fieldPath(path, "ports", k),
        `port ${v} is also the ${seen.get(v)} port`,
        "give p2p, rpc and metrics distinct ports",
      );
    seen.set(v, k);
  }
  if (s.gateway.type === "ClusterIP" && s.gateway.sourceRanges.length > 0) {
    problems.add(
      fieldPath(path, "gateway", "sourceRanges"),
      "only applies to a LoadBalancer gateway",
      "set gateway.type: LoadBalancer, or remove sourceRanges",
    );
  }
  return s;
}
