/**
 * Patroni configuration rendered from the cluster's settings plus a small, explicit environment
 * (addresses, paths, DCS). The Kubernetes component and the local drill both call
 * {@link renderPatroniConfig}, so the drill runs exactly the configuration `pulumi up` deploys.
 * Pure; no Pulumi or Kubernetes imports.
 */
import { stringify } from "yaml";
import type { PostgresSettings } from "./settings";

/** The cluster-wide settings the Patroni file depends on (a subset of {@link PostgresSettings}). */
export type PatroniClusterSettings = Pick<
  PostgresSettings,
  | "ttl"
  | "loopWait"
  | "retryTimeout"
  | "synchronousMode"
  | "synchronousModeStrict"
  | "usePgRewind"
  | "useSlots"
  | "maximumLagOnFailover"
  | "parameters"
> & {
  /** `archive_timeout` in seconds: the longest a quiet primary waits before shipping WAL. Default 60. */
  readonly archiveTimeoutSeconds?: number;
};

/** Patroni's distributed configuration store. */
export type DcsConfig =
  | {
      readonly kind: "kubernetes";
      /** Namespace of the cluster's pods, Endpoints and ConfigMaps. */
      readonly namespace: string;
      /** Labels that select the cluster's pods (besides the scope label). */
      readonly labels: Readonly<Record<string, string>>;
      /** Default `cluster-name`. */
      readonly scopeLabel?: string;
      /** Default `role`. */
      readonly roleLabel?: string;
      /** Leader lock in Endpoints (the primary Service's endpoints follow the leader). Default true. */
      readonly useEndpoints?: boolean;
      /** The pod's IP; omit to leave it to `PATRONI_KUBERNETES_POD_IP`. */
      readonly podIp?: string;
      /** Ports published in the leader Endpoints. Default `[{ name: "postgresql", port: <postgres port> }]`. */
      readonly ports?: readonly { readonly name: string; readonly port: number }[];
    }
  | {
      readonly kind: "etcd3";
      /** `host:port` of every etcd member, e.g. `127.0.0.1:2379`. */
      readonly hosts: readonly string[];
      /** Default `http`. */
      readonly protocol?: "http" | "https";
      /** Key prefix (Patroni's `namespace`). Default Patroni's `/service/`. */
      readonly prefix?: string;
    };

export interface Credentials {
  readonly username: string;
  /** Omit to leave it to the environment (`PATRONI_SUPERUSER_PASSWORD`, ...). */
  readonly password?: string;
}

/** PEM files of the REST API's HTTPS server. */
export interface RestApiTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA of the certificate: `ctl.cacert`, what patronictl verifies the members with. */
  readonly caFile: string;
}

/** Where and how one member runs. */
export interface PatroniEnvironment {
  /** Patroni scope: the cluster's name in the DCS. */
  readonly scope: string;
  /** Member name; omit to leave it to `PATRONI_NAME` (on Kubernetes: the pod name). */
  readonly name?: string;
  readonly dcs: DcsConfig;
  readonly postgres: {
    /** `host:port` PostgreSQL listens on, e.g. `0.0.0.0:5432`. */
    readonly listen: string;
    /** `host:port` other members use; omit to leave it to `PATRONI_POSTGRESQL_CONNECT_ADDRESS`. */
    readonly connectAddress?: string;
    readonly dataDir: string;
    /** Directory of pg_ctl, initdb, postgres. Default: found on PATH. */
    readonly binDir?: string;
    /** Unix socket directory. Default: PostgreSQL's. */
    readonly socketDir?: string;
    /** Where Patroni writes its pgpass file. */
    readonly pgpassPath: string;
  };
  readonly restApi: {
    /** `host:port` the REST API (health, /metrics) listens on, e.g. `0.0.0.0:8008`. */
    readonly listen: string;
    /** Omit to leave it to `PATRONI_RESTAPI_CONNECT_ADDRESS`. */
    readonly connectAddress?: string;
    /**
     * Basic auth Patroni demands for every unsafe call (POST/PUT/PATCH/DELETE: `/failover`,
     * `/switchover`, `/restart`, `/reinitialize`, `PATCH /config`); patronictl sends it too.
     * Omit the password to leave it to `PATRONI_RESTAPI_PASSWORD`. Default none (no auth: the
     * drill's local configurations).
     */
    readonly authentication?: Credentials;
    /** HTTPS: the server certificate and key (PEM) and the CA patronictl verifies it with. Default none (HTTP). */
    readonly tls?: RestApiTls;
  };
  readonly authentication: {
    readonly superuser: Credentials;
    readonly replication: Credentials;
    readonly rewind: Credentials;
  };
  /**
   * pg_hba method for Unix-socket connections. Default `peer` (the OS user must be named like
   * the superuser, as in the default image); the drill may use `scram-sha-256`.
   */
  readonly localAuth?: "peer" | "scram-sha-256" | "trust";
  /** CIDRs allowed to connect over TCP (pg_hba), e.g. `["10.0.0.0/8"]` or `["127.0.0.1/32"]`. */
  readonly allowedCidrs: readonly string[];
  /** WAL archiving through pgBackRest. Default: no archiving (archive_mode off). */
  readonly archive?: {
    /** Full `archive_command` (see `pgBackRestArchiveCommand`). */
    readonly command: string;
  };
  /** Follow another cluster (Patroni's `standby_cluster`). Default: none (a primary cluster). */
  readonly standbyCluster?: {
    readonly host: string;
    readonly port: number;
    /** Fallback when streaming is unavailable: fetch WAL from the primary's repository. */
    readonly restoreCommand?: string;
    /** Slot on the primary to stream from. Default: none. */
    readonly primarySlotName?: string;
    /** Create the standby leader from the primary's pgBackRest backup (then pg_basebackup). */
    readonly pgBackRestRestoreCommand?: string;
  };
  /** Script run once after the cluster is initialized (`bootstrap.post_init`). Default none. */
  readonly postInit?: string;
  /** Linux watchdog. Default `off` (containers and the drill have none). */
  readonly watchdog?: "off" | "automatic" | "required";
}

/** The Patroni configuration as a plain object (see {@link renderPatroniConfig}). */
export function patroniConfig(
  cluster: PatroniClusterSettings,
  env: PatroniEnvironment,
): Record<string, unknown> {
  const port = portOf(env.postgres.listen);
  const hba = pgHba(env);
  const parameters: Record<string, string | number> = {
    password_encryption: "scram-sha-256",
    wal_level: "replica",
    hot_standby: "on",
    wal_log_hints: "on",
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: "1GB",
    ...(env.archive
      ? {
          archive_mode: "on",
          archive_command: env.archive.command,
          archive_timeout: cluster.archiveTimeoutSeconds ?? 60,
        }
      : { archive_mode: "off" }),
    ...cluster.parameters,
  };
  const sc = env.standbyCluster;
  const dcs: Record<string, unknown> = {
    ttl: cluster.ttl,
    loop_wait: cluster.loopWait,
    retry_timeout: cluster.retryTimeout,
    maximum_lag_on_failover: cluster.maximumLagOnFailover,
    synchronous_mode: cluster.synchronousMode,
    synchronous_mode_strict: cluster.synchronousModeStrict,
    postgresql: { use_pg_rewind: cluster.usePgRewind, use_slots: cluster.useSlots, parameters },
    ...(sc
      ? {
          standby_cluster: {
            host: sc.host,
            port: sc.port,
            ...(sc.primarySlotName ? { primary_slot_name: sc.primarySlotName } : {}),
            ...(sc.restoreCommand ? { restore_command: sc.restoreCommand } : {}),
            create_replica_methods: sc.pgBackRestRestoreCommand
              ? ["pgbackrest", "basebackup"]
              : ["basebackup"],
          },
        }
      : {}),
  };
  const auth = (c: Credentials) => ({
    username: c.username,
    ...(c.password !== undefined ? { password: c.password } : {}),
  });
  return {
    scope: env.scope,
    ...(env.name ? { name: env.name } : {}),
    ...(env.dcs.kind === "etcd3" && env.dcs.prefix ? { namespace: env.dcs.prefix } : {}),
    log: { level: "INFO" },
    ...restApiSection(env.restApi),
    ...dcsSection(env, port),
    bootstrap: {
      dcs,
      initdb: [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"],
      pg_hba: hba,
      ...(env.postInit ? { post_init: env.postInit } : {}),
    },
    postgresql: {
      listen: env.postgres.listen,
      ...(env.postgres.connectAddress ? { connect_address: env.postgres.connectAddress } : {}),
      data_dir: env.postgres.dataDir,
      ...(env.postgres.binDir ? { bin_dir: env.postgres.binDir } : {}),
      pgpass: env.postgres.pgpassPath,
      use_unix_socket: true,
      authentication: {
        superuser: auth(env.authentication.superuser),
        replication: auth(env.authentication.replication),
        rewind: auth(env.authentication.rewind),
      },
      parameters: {
        ...(env.postgres.socketDir ? { unix_socket_directories: env.postgres.socketDir } : {}),
      },
      pg_hba: hba,
      ...(sc?.pgBackRestRestoreCommand
        ? { pgbackrest: { command: sc.pgBackRestRestoreCommand, keep_data: true, no_params: true } }
        : {}),
    },
    watchdog: { mode: env.watchdog ?? "off" },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

/** Renders Patroni's YAML configuration file for one member (or, with name/addresses left to the environment, for every pod). */
export function renderPatroniConfig(
  cluster: PatroniClusterSettings,
  env: PatroniEnvironment,
): string {
  // YAML 1.1 output: Patroni reads it with PyYAML, which would take a bare `on`/`off` for booleans.
  return stringify(patroniConfig(cluster, env), {
    lineWidth: 0,
    version: "1.1",
    aliasDuplicateObjects: false,
  });
}

/**
 * `restapi` (and, with TLS, `ctl`): Patroni 3.0 and 4.0 read `restapi.authentication` for the
 * server's check and patronictl's requests alike; `ctl.cacert` makes patronictl verify the
 * members' certificate (its `insecure` stays false).
 */
function restApiSection(r: PatroniEnvironment["restApi"]): Record<string, unknown> {
  const a = r.authentication;
  return {
    restapi: {
      listen: r.listen,
      ...(r.connectAddress ? { connect_address: r.connectAddress } : {}),
      ...(a
        ? {
            authentication: {
              username: a.username,
              ...(a.password !== undefined ? { password: a.password } : {}),
            },
          }
        : {}),
      ...(r.tls ? { certfile: r.tls.certFile, keyfile: r.tls.keyFile, cafile: r.tls.caFile } : {}),
    },
    ...(r.tls ? { ctl: { insecure: false, cacert: r.tls.caFile } } : {}),
  };
}

function dcsSection(env: PatroniEnvironment, pgPort: number): Record<string, unknown> {
  const d = env.dcs;
  if (d.kind === "etcd3") return { etcd3: { hosts: [...d.hosts], protocol: d.protocol ?? "http" } };
  return {
    kubernetes: {
      namespace: d.namespace,
      labels: { ...d.labels },
      scope_label: d.scopeLabel ?? "cluster-name",
      role_label: d.roleLabel ?? "role",
      use_endpoints: d.useEndpoints ?? true,
      ...(d.podIp ? { pod_ip: d.podIp } : {}),
      ports: (d.ports ?? [{ name: "postgresql", port: pgPort }]).map((p) => ({
        name: p.name,
        port: p.port,
      })),
    },
  };
}

/** pg_hba: Unix sockets by `localAuth` (peer), everything over TCP by SCRAM from the allowed ranges only. */
export function pgHba(env: PatroniEnvironment): string[] {
  const repl = env.authentication.replication.username;
  const tcp = env.allowedCidrs.flatMap((cidr) => [
    `host replication ${repl} ${cidr} scram-sha-256`,
    `host all all ${cidr} scram-sha-256`,
  ]);
  return [`local all all ${env.localAuth ?? "peer"}`, ...tcp];
}

/** The port of a `host:port` address. */
export function portOf(address: string): number {
  const m = /:(\d+)$/.exec(address);
  if (!m) throw new Error(`address ${JSON.stringify(address)} has no port`);
  return Number(m[1]);
}

/**
 * `bootstrap.post_init` script that creates the application role and database once, reading
 * the password from `$DRSTACK_APP_PASSWORD` (never written into a file). Patroni calls it with
 * a connection string as `$1`.
 */
export function renderPostInitScript(appUser: string, appDatabase: string): string {
  return [
    "#!/bin/sh",
    "# Created by drstack: the application role and database, run once by Patroni after initdb.",
    "set -eu",
    `psql -v ON_ERROR_STOP=1 -v pw="$DRSTACK_APP_PASSWORD" "$1" <<'SQL'`,
    `CREATE ROLE ${appUser} LOGIN PASSWORD :'pw';`,
    `CREATE DATABASE ${appDatabase} OWNER ${appUser};`,
    "SQL",
    "",
  ].join("\n");
}
