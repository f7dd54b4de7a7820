/**
 * Per-site stack settings (`stacks/Pulumi.<stack>.yaml`, namespace `drstack:`), validated
 * together with the network topology before any resource is registered.
 */
import { Problems } from "./errors";
import type { Network, Site } from "./model";
import { checkShape, type Shape, suggest } from "./shape";

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

export interface KeySpec {
  readonly description: string;
  /** For structured values (objects in the stack file): their shape, checked field by field. */
  readonly shape?: Shape;
  /** For structured values: cross-field checks after the shape check (add problems with field paths). */
  readonly check?: (value: unknown, path: string, problems: Problems) => void;
  readonly default?: string;
  readonly pattern?: RegExp;
  readonly hint?: string;
}

/**
 * The `drstack:` keys every stack has, whatever it deploys. Each domain adds its own structured key
 * (its shape and checks) in `components/settings.ts`; the topology knows shapes, not domains.
 */
export const BASE_CONFIG_KEYS: Readonly<Record<string, KeySpec>> = {
  site: { description: "Name of the site (from network.yaml) that this stack deploys." },
  network: { description: "Path of the network topology file.", default: "stacks/network.yaml" },
  kubeconfig: { description: "Kubeconfig path or contents for the site's cluster.", default: "" },
  namespacePrefix: {
    description: "Prefix of the namespaces drstack creates.",
    default: "drstack",
    pattern: /^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/,
    hint: "use a DNS label of at most 42 characters, e.g. drstack",
  },
};

export const CONFIG_NAMESPACE = "drstack";

/**
 * Reads the `drstack:` keys of a flat Pulumi config map (`{"drstack:site": "primary"}`) against a
 * key table, adding problems for unknown keys, bad values and a missing site.
 */
export function readSiteSettings(
  config: Readonly<Record<string, string>>,
  keys: Readonly<Record<string, KeySpec>>,
  problems: Problems,
): SiteSettings | undefined {
  const values: Record<string, string> = {};
  const structured: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key] = fullKey.includes(":")
      ? fullKey.split(/:(.*)/s, 2)
      : [CONFIG_NAMESPACE, fullKey];
    if (ns !== CONFIG_NAMESPACE) continue;
    const spec = keys[key];
    if (!spec) {
      const s = suggest(key, Object.keys(keys));
      const head = key.split(/[.[]/, 1)[0];
      // `pulumi config set drstack:backup.keyRecipient V` (no --path) writes this flat key.
      const flat = head !== key && keys[head]?.shape !== undefined;
      problems.add(
        `config.${CONFIG_NAMESPACE}:${key}`,
        flat
          ? `unknown config key: a flat key with a dot, which ${CONFIG_NAMESPACE}:${head} (a structured setting) does not read`
          : `unknown config key`,
        flat
          ? `set it inside ${CONFIG_NAMESPACE}:${head} with --path: pulumi config set --path '${CONFIG_NAMESPACE}:${key}' ...`
          : s
            ? `did you mean ${CONFIG_NAMESPACE}:${s}?`
            : `known keys: ${Object.keys(keys).join(", ")}`,
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
    network: values.network || BASE_CONFIG_KEYS.network.default!,
    kubeconfig: values.kubeconfig || undefined,
    namespacePrefix: values.namespacePrefix || BASE_CONFIG_KEYS.namespacePrefix.default!,
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
