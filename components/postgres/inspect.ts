/**
 * Reading Patroni clusters back from Kubernetes resource inputs (what the policies see): which
 * StatefulSets run Patroni, the site role they carry, the Patroni YAML and pgBackRest INI in a
 * ConfigMap. Pure.
 */
import { parse } from "yaml";
import { LABEL_PREFIX } from "../shared/labels";
import { memoizeText } from "../util/memo";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const PATRONI_NAME_LABEL = "app.kubernetes.io/name";

/** True for a StatefulSet whose pods run Patroni (by label, or a container running `patroni`). */
export function isPatroniStatefulSet(type: string, props: Props): boolean {
  if (type !== "kubernetes:apps/v1:StatefulSet") return false;
  if (props.metadata?.labels?.[PATRONI_NAME_LABEL] === "patroni") return true;
  const containers: Props[] = props.spec?.template?.spec?.containers ?? [];
  return containers.some((c) =>
    [...(c.command ?? []), ...(c.args ?? [])].some(
      (a: unknown) => typeof a === "string" && /(^|\/)patroni$/.test(a),
    ),
  );
}

/** The site role (`primary`/`standby`) a resource carries in its `drstack.io/role` label. */
export function siteRoleOf(props: Props): string | undefined {
  return props.metadata?.labels?.[`${LABEL_PREFIX}/role`];
}

/** The Patroni YAML of a ConfigMap (key `patroni.yaml` or `patroni.yml`), if any. */
export function patroniText(props: Props): string | undefined {
  const data = props.data ?? {};
  const text = data["patroni.yaml"] ?? data["patroni.yml"];
  return typeof text === "string" ? text : undefined;
}

/**
 * Parses Patroni YAML as Patroni does (YAML 1.1: a bare `on` is true); throws on bad YAML.
 * Several rules read the same ConfigMap: results are shared, so treat them as read-only.
 */
export const parsePatroni: (text: string) => Props = memoizeText((text) => {
  const v = parse(text, { version: "1.1" });
  return v && typeof v === "object" ? (v as Props) : {};
});

/** A PostgreSQL parameter as Patroni applies it: local `postgresql.parameters` over bootstrap DCS. */
export function effectiveParameter(config: Props, name: string): unknown {
  return (
    config.postgresql?.parameters?.[name] ?? config.bootstrap?.dcs?.postgresql?.parameters?.[name]
  );
}

/** PostgreSQL's boolean-ish `on` (also `true`, `yes`, `1`, `always` for archive_mode). */
export function isOn(v: unknown): boolean {
  if (v === true) return true;
  return typeof v === "string" && ["on", "true", "yes", "1", "always"].includes(v.toLowerCase());
}

/** pgBackRest INI: section to key to value (later keys win, `#` comments skipped). Shared: read-only. */
export const parseIni: (text: string) => ReadonlyMap<string, ReadonlyMap<string, string>> =
  memoizeText(parseIniUncached);

function parseIniUncached(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1].trim();
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    if (!out.has(section)) out.set(section, new Map());
    out.get(section)!.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** pgBackRest config files in a ConfigMap (`pgbackrest*.conf`). */
export function pgBackRestFiles(props: Props): [string, string][] {
  return Object.entries((props.data ?? {}) as Record<string, unknown>).filter(
    (e): e is [string, string] => /^pgbackrest.*\.conf$/.test(e[0]) && typeof e[1] === "string",
  );
}

/** Repositories of a pgBackRest INI across sections: index to its options (without `repoN-`). */
export function repositories(
  ini: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Map<number, Map<string, string>> {
  const repos = new Map<number, Map<string, string>>();
  for (const values of ini.values()) {
    for (const [k, v] of values) {
      const m = /^repo(\d+)-(.+)$/.exec(k);
      if (!m) continue;
      const n = Number(m[1]);
      if (!repos.has(n)) repos.set(n, new Map());
      repos.get(n)!.set(m[2], v);
    }
  }
  return repos;
}
