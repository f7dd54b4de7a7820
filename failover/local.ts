/**
 * The local site driver: sites whose Patroni REST API and PostgreSQL listen on this machine (the
 * drill's clusters on loopback). It needs only each site's REST URLs, a replication endpoint,
 * and a PostgreSQL address for psql. Configured from a JSON file (`--sites FILE`) or, by the
 * drill, programmatically (which may add a `reseedFresh` hook that wipes and restarts members).
 *
 * ```json
 * { "sites": { "primary": { "rest": ["http://127.0.0.1:15620"],
 *                           "replication": { "host": "127.0.0.1", "port": 15650 },
 *                           "postgres": { "hosts": ["127.0.0.1:15610"], "user": "postgres",
 *                                         "passwordEnv": "PGPASSWORD", "database": "postgres" },
 *                           "pgbackrest": { "stanza": "main", "config": "/tmp/pgbackrest.conf" } } } }
 * ```
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, type Problem } from "../components/topology/errors";
import { PatroniApi, writeEtcdConfig } from "./patroni";
import { PatroniDriver, type PatroniSiteAccess } from "./patroni-driver";

export interface LocalSiteConfig {
  /** REST base URLs of the site's Patroni members. */
  readonly rest: readonly string[];
  /** Host and port other sites replicate from while this site is primary. Default: the
   * PostgreSQL address of the site's current leader (from `GET /cluster`). */
  readonly replication?: { readonly host: string; readonly port: number };
  readonly postgres: {
    /** `host:port` of every member (psql picks the read-write one). */
    readonly hosts: readonly string[];
    readonly user: string;
    readonly password?: string;
    /** Environment variable holding the password. */
    readonly passwordEnv?: string;
    readonly database: string;
  };
  readonly pgbackrest?: { readonly stanza: string; readonly config: string };
  /** Extra `standby_cluster` fields (e.g. `restore_command`). */
  readonly standbyCluster?: Readonly<Record<string, unknown>>;
  /** The site's DCS (etcd v3): Patroni's `config` key is `<namespace><scope>/config`, e.g.
   * `/drstack-primary/pg-example-network/config`. Lets `fenceDcs` fence a site whose Patroni is
   * down, so it can only restart as a standby. */
  readonly dcs?: { readonly etcd: string; readonly configKey: string };
  /** Wipes and restarts the site's members (programmatic use only: the drill owns them). */
  readonly reseedFresh?: () => Promise<void>;
  /**
   * Basic auth of the REST API (Patroni's `restapi.authentication`), sent with every call.
   * Default none (a REST API without auth, as the drill's local clusters run unless told).
   * HTTPS URLs are verified against the system CAs plus `NODE_EXTRA_CA_CERTS` (the site CA).
   */
  readonly restAuth?: {
    readonly username: string;
    readonly password?: string;
    /** Environment variable holding the password. */
    readonly passwordEnv?: string;
  };
}

export interface LocalSitesConfig {
  readonly sites: Readonly<Record<string, LocalSiteConfig>>;
}

const PSQL_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"];

function findBinary(name: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(":"), ...PSQL_DIRS]) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return name;
}

function exec(
  file: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${path.basename(file)}: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      },
    );
  });
}

/** libpq connection string for a site (read-write session). Pure. */
export function localConninfo(pg: LocalSiteConfig["postgres"]): string {
  const hp = pg.hosts.map((h) => {
    const i = h.lastIndexOf(":");
    return i < 0 ? [h, "5432"] : [h.slice(0, i), h.slice(i + 1)];
  });
  return [
    `host=${hp.map(([h]) => h).join(",")}`,
    `port=${hp.map(([, p]) => p).join(",")}`,
    `user=${pg.user}`,
    `dbname=${pg.database}`,
    "connect_timeout=3",
    "target_session_attrs=read-write",
    "application_name=drstack-failover",
  ].join(" ");
}

/** The `Authorization` header of a site's `restAuth` (none without it). */
export function restAuthHeaders(c: LocalSiteConfig): Record<string, string> {
  const a = c.restAuth;
  if (!a) return {};
  const password = a.password ?? (a.passwordEnv ? process.env[a.passwordEnv] : undefined);
  if (password === undefined)
    throw new Error(
      `restAuth of REST ${c.rest.join(", ")}: no password (set ${a.passwordEnv ?? "restAuth.password or restAuth.passwordEnv"})`,
    );
  return {
    authorization: `Basic ${Buffer.from(`${a.username}:${password}`).toString("base64")}`,
  };
}

export function localAccess(c: LocalSiteConfig): PatroniSiteAccess {
  const password =
    c.postgres.password ??
    (c.postgres.passwordEnv ? process.env[c.postgres.passwordEnv] : undefined);
  return {
    restUrls: async () => c.rest,
    replicationEndpoint: async () => {
      if (c.replication) return c.replication;
      const view = await new PatroniApi(c.rest).cluster();
      if (!view.leader?.host || view.leader.port === undefined)
        throw new Error(`no leader address in GET /cluster of ${c.rest.join(", ")}`);
      return { host: view.leader.host, port: view.leader.port };
    },
    sql: (query) =>
      exec(
        findBinary("psql"),
        [
          "-X",
          "-A",
          "-t",
          "-q",
          "-v",
          "ON_ERROR_STOP=1",
          "-d",
          localConninfo(c.postgres),
          "-c",
          query,
        ],
        { PATH: process.env.PATH, LANG: "C.UTF-8", ...(password ? { PGPASSWORD: password } : {}) },
      ).then((s) => s.trim()),
    ...(c.pgbackrest
      ? {
          backupInfo: async () =>
            JSON.parse(
              await exec(
                findBinary("pgbackrest"),
                [
                  `--config=${c.pgbackrest!.config}`,
                  `--stanza=${c.pgbackrest!.stanza}`,
                  "info",
                  "--output=json",
                ],
                { PATH: process.env.PATH },
              ),
            ) as unknown,
        }
      : {}),
    ...(c.dcs
      ? { writeDcsConfig: (patch) => writeEtcdConfig(c.dcs!.etcd, c.dcs!.configKey, patch) }
      : {}),
    ...(c.reseedFresh ? { reseedFresh: c.reseedFresh } : {}),
    ...(c.standbyCluster ? { standbyClusterExtras: c.standbyCluster } : {}),
    ...(c.restAuth ? { headers: restAuthHeaders(c) } : {}),
  };
}

/** The driver for local sites; `upstreamOf` is the topology's primary. */
export function localDriver(
  config: LocalSitesConfig,
  upstreamOf: (site: string) => string | undefined,
  timing: {
    fenceTimeoutMs?: number;
    promoteTimeoutMs?: number;
    rejoinTimeoutMs?: number;
    pollMs?: number;
  } = {},
): PatroniDriver {
  return new PatroniDriver({
    kind: "local",
    sites: Object.fromEntries(Object.entries(config.sites).map(([k, v]) => [k, localAccess(v)])),
    upstreamOf,
    description: `local Patroni sites ${Object.entries(config.sites)
      .map(([k, v]) => `${k} (${v.rest.join(", ")})`)
      .join("; ")}`,
    ...timing,
  });
}

/** Reads and checks `--sites FILE`; every problem names its field. */
export function readLocalSites(file: string, siteNames: readonly string[]): LocalSitesConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError([
      {
        file,
        path: "",
        message: `cannot read the local sites file: ${(e as Error).message}`,
        fix: "pass --sites FILE with the JSON described in docs/failover.md",
      },
    ]);
  }
  const problems: Problem[] = [];
  const add = (p: string, message: string, fix: string) =>
    problems.push({ file, path: p, message, fix });
  const sites = (raw as { sites?: unknown })?.sites;
  if (!sites || typeof sites !== "object")
    add("sites", "missing", "add a sites object keyed by site name");
  else
    for (const [name, v] of Object.entries(sites as Record<string, unknown>)) {
      const at = (f: string) => `sites.${name}.${f}`;
      if (!siteNames.includes(name))
        add(
          `sites.${name}`,
          `no site named ${name} in the topology`,
          `use one of: ${siteNames.join(", ")}`,
        );
      const s = v as Partial<LocalSiteConfig>;
      if (
        !Array.isArray(s.rest) ||
        s.rest.length === 0 ||
        !s.rest.every((u) => /^https?:\/\//.test(String(u)))
      )
        add(at("rest"), "must list the members' REST base URLs", 'e.g. ["http://127.0.0.1:15620"]');
      if (
        s.replication !== undefined &&
        (typeof s.replication?.host !== "string" || !Number.isInteger(s.replication?.port))
      )
        add(
          at("replication"),
          "must be { host, port }",
          'e.g. { "host": "127.0.0.1", "port": 15650 }',
        );
      if (
        !Array.isArray(s.postgres?.hosts) ||
        typeof s.postgres?.user !== "string" ||
        typeof s.postgres?.database !== "string"
      )
        add(
          at("postgres"),
          "must be { hosts: [host:port...], user, database, password? | passwordEnv? }",
          "see docs/failover.md",
        );
      const ra = s.restAuth;
      if (
        ra !== undefined &&
        (typeof ra?.username !== "string" ||
          (typeof ra.password !== "string" && typeof ra.passwordEnv !== "string"))
      )
        add(
          at("restAuth"),
          "must be { username, password | passwordEnv }",
          'e.g. { "username": "drstack", "passwordEnv": "PATRONI_RESTAPI_PASSWORD" }',
        );
      if (
        s.dcs !== undefined &&
        (typeof s.dcs?.etcd !== "string" || typeof s.dcs?.configKey !== "string")
      )
        add(
          at("dcs"),
          "must be { etcd: URL, configKey: <namespace><scope>/config }",
          'e.g. { "etcd": "http://127.0.0.1:15600", "configKey": "/drstack-primary/pg-example-network/config" }',
        );
    }
  if (problems.length) throw new ConfigError(problems, `${file} is invalid`);
  return raw as LocalSitesConfig;
}

/** What the drill knows of one site (structurally `drill/environment.ts`'s `SiteEndpoints`). */
export interface SiteEndpointsLike {
  readonly site: string;
  readonly scope?: string;
  readonly etcd?: readonly string[];
  readonly dcsPrefix?: string;
  readonly members: readonly { readonly restUrl: string; readonly pgPort: number }[];
  /** Basic auth of the members' REST API, when they demand it. Default none. */
  readonly restAuth?: { readonly username: string; readonly password: string };
  readonly postgres: {
    readonly user: string;
    readonly password: string;
    readonly database: string;
  };
}

/**
 * Local sites from the drill's endpoints (`siteEndpoints(env, "primary")`, `...(env, "dr")`);
 * `extra` adds per-site fields (replication endpoint, pgBackRest, a `reseedFresh` hook).
 */
export function localSitesFromEndpoints(
  sites: readonly SiteEndpointsLike[],
  extra: Readonly<Record<string, Partial<LocalSiteConfig>>> = {},
): LocalSitesConfig {
  return {
    sites: Object.fromEntries(
      sites.map((e) => [
        e.site,
        {
          rest: e.members.map((m) => m.restUrl),
          postgres: {
            hosts: e.members.map((m) => `127.0.0.1:${m.pgPort}`),
            user: e.postgres.user,
            password: e.postgres.password,
            database: e.postgres.database,
          },
          ...(e.restAuth ? { restAuth: e.restAuth } : {}),
          ...(e.etcd?.length && e.dcsPrefix && e.scope
            ? {
                dcs: {
                  etcd: e.etcd[0],
                  configKey: `${e.dcsPrefix.replace(/\/?$/, "/")}${e.scope}/config`,
                },
              }
            : {}),
          ...(extra[e.site] ?? {}),
        } satisfies LocalSiteConfig,
      ]),
    ),
  };
}
