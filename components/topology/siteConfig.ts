/**
 * Per-site stack settings (`stacks/Pulumi.<stack>.yaml`, namespace `drstack:`), validated
 * together with the network topology before any resource is registered.
 */
import { Problems } from "./errors";
import type { Network, Site } from "./model";
import { checkShape, type Shape, suggest } from "./shape";
import { checkRedisConfig, REDIS_SHAPE } from "../redis/settings";
import { checkValidatorsConfig, VALIDATORS_SHAPE } from "../validators/settings";
import { checkPostgresValue, POSTGRES_SHAPE } from "../postgres/settings";
import { BACKUP_SHAPE, checkBackupConfig } from "../backup/settings";

export interface SiteSettings {
  /** The site (from network.yaml) this stack deploys. Required. */
  readonly site: string;
  /** Network topology file, relative to the project directory. Default `stacks/network.yaml`. */
  readonly network: string;
  /** Kubeconfig path or contents. Default: the site's `kubernetes.kubeconfig`, else ambient. */
  readonly kubeconfig?: string;
  /** Prefix of the namespaces drstack creates. Default `drstack`. */
  readonly namespacePrefix: string;
  /**
   * Structured settings by key (e.g. `postgres`), JSON-parsed and shape-checked; absent keys are
   * absent. Each component normalizes its own key and documents its defaults.
   */
  readonly structured: Readonly<Record<string, unknown>>;
}

interface KeySpec {
  readonly description: string;
  /** For structured values (objects in the stack file): their shape, checked field by field. */
  readonly shape?: Shape;
  /** For structured values: cross-field checks after the shape check (add problems with field paths). */
  readonly check?: (value: unknown, path: string, problems: Problems) => void;
  readonly default?: string;
  readonly pattern?: RegExp;
  readonly hint?: string;
}

/** Every `drstack:` config key a stack may set; later components add theirs here. */
export const SITE_CONFIG_KEYS: Record<string, KeySpec> = {
  site: { description: "Name of the site (from network.yaml) that this stack deploys." },
  network: { description: "Path of the network topology file.", default: "stacks/network.yaml" },
  kubeconfig: { description: "Kubeconfig path or contents for the site's cluster.", default: "" },
  namespacePrefix: {
    description: "Prefix of the namespaces drstack creates.",
    default: "drstack",
    pattern: /^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/,
    hint: "use a DNS label of at most 42 characters, e.g. drstack",
  },
  redis: {
    description:
      "Redis + Sentinel settings (JSON object; see docs/redis.md). Default: 1 master + 2 replicas, 3 sentinels.",
    shape: REDIS_SHAPE,
    check: checkRedisConfig,
  },
  validators: {
    description:
      "Validator settings (JSON object; see components/validators/settings.ts). Default: image cometbft/cometbft:v0.38.17, 500m CPU / 2Gi, 100Gi state, ClusterIP gateway, key Secret {validator}-keys.",
    shape: VALIDATORS_SHAPE,
    check: checkValidatorsConfig,
  },
  backup: {
    description:
      "Backups, bucket replication and retention (JSON object; see docs/backups.md). Default: 35-day retention, replica in the paired region, pgBackRest full weekly / diff daily / incr hourly.",
    shape: BACKUP_SHAPE,
    check: checkBackupConfig,
  },
  postgres: {
    description:
      "Patroni PostgreSQL settings (JSON object; see docs/postgres.md). Default: 3 members in a primary site, 2 in a standby; ttl 10, loopWait 2, retryTimeout 4; synchronous mode in the primary.",
    shape: POSTGRES_SHAPE,
    check: checkPostgresValue,
  },
};

export const CONFIG_NAMESPACE = "drstack";

/**
 * Reads the `drstack:` keys of a flat Pulumi config map (`{"drstack:site": "primary"}`), adding
 * problems for unknown keys, bad values and a missing site.
 */
export function readSiteSettings(
  config: Readonly<Record<string, string>>,
  problems: Problems,
): SiteSettings | undefined {
  const values: Record<string, string> = {};
  const structured: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key] = fullKey.includes(":")
      ? fullKey.split(/:(.*)/s, 2)
      : [CONFIG_NAMESPACE, fullKey];
    if (ns !== CONFIG_NAMESPACE) continue;
    const spec = SITE_CONFIG_KEYS[key];
    if (!spec) {
      const s = suggest(key, Object.keys(SITE_CONFIG_KEYS));
      problems.add(
        `config.${CONFIG_NAMESPACE}:${key}`,
        `unknown config key`,
        s
          ? `did you mean ${CONFIG_NAMESPACE}:${s}?`
          : `known keys: ${Object.keys(SITE_CONFIG_KEYS).join(", ")}`,
      );
      continue;
    }
    if (spec.shape) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        parsed = value;
      }
      if (checkShape(parsed, spec.shape, `config.${CONFIG_NAMESPACE}:${key}`, problems)) {
        spec.check?.(parsed, `config.${CONFIG_NAMESPACE}:${key}`, problems);
        structured[key] = parsed;
      }
      continue;
    }
    if (spec.pattern && !spec.pattern.test(value)) {
      problems.add(
        `config.${CONFIG_NAMESPACE}:${key}`,
        `${JSON.stringify(value)} is not valid`,
        spec.hint,
      );
      continue;
    }
    values[key] = value;
  }
  if (!values.site) {
    problems.add(
      `config.${CONFIG_NAMESPACE}:site`,
      "is required: which site does this stack deploy?",
      `pulumi config set ${CONFIG_NAMESPACE}:site <site name from network.yaml>`,
    );
    return undefined;
  }
  return {
    site: values.site,
    network: values.network || SITE_CONFIG_KEYS.network.default!,
    kubeconfig: values.kubeconfig || undefined,
    namespacePrefix: values.namespacePrefix || SITE_CONFIG_KEYS.namespacePrefix.default!,
    structured,
  };
}

/** The site the settings select, or a problem naming the sites that exist. */
export function selectSite(
  network: Network,
  settings: SiteSettings,
  problems: Problems,
): Site | undefined {
  const site = network.sites.find((s) => s.name === settings.site);
  if (!site) {
    const names = network.sites.map((s) => s.name);
    const s = suggest(settings.site, names);
    problems.add(
      `config.${CONFIG_NAMESPACE}:site`,
      `site ${JSON.stringify(settings.site)} is not in the network topology`,
      s ? `did you mean ${s}?` : `use one of: ${names.join(", ")}`,
    );
  }
  return site;
}
