/**
 * The Kubernetes environment of a Patroni member: the values `PatroniCluster` hands the pure
 * renderers (paths inside the pod, Kubernetes DCS, pgBackRest repositories in the site's bucket).
 * Per-pod values (member name, pod IP, passwords) are left to environment variables the
 * StatefulSet sets, so one ConfigMap serves every pod. Pure.
 */
import type { PatroniEnvironment } from "./patroni";
import {
  type PgBackRestRepo,
  type PgBackRestSpec,
  pgBackRestArchiveCommand,
  pgBackRestRestoreCommand,
  type TlsServerSpec,
} from "./pgbackrest";
import type { BackupRepoArgs, PostgresSettings } from "./settings";
import { PGBACKREST_TLS_PORT, TLS_FILES } from "./tls";

export const POSTGRES_PORT = 5432;
export const PATRONI_PORT = 8008;
export const CONFIG_DIR = "/etc/patroni";
export const PATRONI_FILE = "patroni.yaml";
export const PGBACKREST_FILE = "pgbackrest.conf";
/** A standby site's read-only view of the primary's repository (as repo2). */
export const PGBACKREST_PRIMARY_FILE = "pgbackrest-primary.conf";
export const POST_INIT_FILE = "post-init.sh";
export const DATA_MOUNT = "/pgdata";
export const DATA_DIR = `${DATA_MOUNT}/pg15`;
export const SPOOL_DIR = `${DATA_MOUNT}/pgbackrest-spool`;
export const TMP_DIR = "/tmp";
/**
 * Where the Patroni container mounts the cluster's server certificate (the site CA's, the same
 * Secret the pgBackRest sidecar serves with): Patroni's REST API serves HTTPS with it.
 */
export const PATRONI_TLS_DIR = "/etc/patroni-tls";
/** User of the REST API's basic auth (its password: `PATRONI_RESTAPI_PASSWORD`, from the Secret). */
export const RESTAPI_USERNAME = "drstack";
/** Repository index the primary's repository gets in a standby site's second config. */
export const PRIMARY_REPO_INDEX = 2;

export const USERS = {
  superuser: "postgres",
  replication: "replicator",
  rewind: "rewinder",
  app: "app",
} as const;
export const APP_DATABASE = "app";

/** Labels Patroni uses to find the cluster's pods (plus `cluster-name: <scope>`). */
export function patroniPodLabels(scope: string): Record<string, string> {
  return { "app.kubernetes.io/name": "patroni", "cluster-name": scope };
}

/** The primary site's replication endpoint and repository, as its stack exports them. */
export interface PrimaryEndpoint {
  readonly host: string;
  readonly port: number;
  readonly scope: string;
  readonly stanza: string;
  readonly repo: BackupRepoArgs;
}

/** The pgBackRest repository in a site's bucket. */
export function bucketRepo(
  b: BackupRepoArgs,
  retentionFull?: number,
  index?: number,
): PgBackRestRepo {
  const common = {
    ...(retentionFull !== undefined ? { retentionFull } : {}),
    ...(index !== undefined ? { index } : {}),
  };
  return b.type === "s3"
    ? { type: "s3", bucket: b.bucket, region: b.region, path: b.path, ...common }
    : { type: "gcs", bucket: b.bucket, path: b.path, ...common };
}

/**
 * The site's own pgBackRest config (repo1: the site's bucket, encrypted, async archiving), with
 * the `pgbackrest server` options the pods' TLS sidecar reads (`tlsServer`, default none).
 */
export function sitePgBackRestSpec(
  settings: PostgresSettings,
  tlsServer?: TlsServerSpec,
): PgBackRestSpec {
  return {
    stanza: settings.scope,
    pgDataDir: DATA_DIR,
    pgPort: POSTGRES_PORT,
    pgSocketPath: TMP_DIR,
    repos: [bucketRepo(settings.backup, settings.retentionFull)],
    lockPath: `${TMP_DIR}/pgbackrest`,
    spoolPath: SPOOL_DIR,
    ...(tlsServer ? { tlsServer } : {}),
  };
}

/** A standby site's config for reading the primary's repository only (as repo2, never pushed to). */
export function primaryRepoPgBackRestSpec(primary: PrimaryEndpoint): PgBackRestSpec {
  return {
    stanza: primary.stanza,
    pgDataDir: DATA_DIR,
    pgPort: POSTGRES_PORT,
    pgSocketPath: TMP_DIR,
    repos: [bucketRepo(primary.repo, undefined, PRIMARY_REPO_INDEX)],
    lockPath: `${TMP_DIR}/pgbackrest-primary`,
  };
}

/** The Patroni environment of every pod of the cluster (standby when `primary` is given). */
export function kubernetesPatroniEnvironment(
  settings: PostgresSettings,
  namespace: string,
  primary?: PrimaryEndpoint,
): PatroniEnvironment {
  const conf = (f: string) => `${CONFIG_DIR}/${f}`;
  const primaryConf = conf(PGBACKREST_PRIMARY_FILE);
  return {
    scope: settings.scope,
    dcs: {
      kind: "kubernetes",
      namespace,
      labels: { "app.kubernetes.io/name": "patroni" },
      scopeLabel: "cluster-name",
      roleLabel: "role",
      useEndpoints: true,
      // Patroni writes the primary Service's Endpoints: both of its ports, by name.
      ports: [
        { name: "postgresql", port: POSTGRES_PORT },
        { name: "pgbackrest", port: PGBACKREST_TLS_PORT },
      ],
    },
    postgres: {
      listen: `0.0.0.0:${POSTGRES_PORT}`,
      dataDir: DATA_DIR,
      binDir: settings.binDir,
      socketDir: TMP_DIR,
      pgpassPath: `${TMP_DIR}/pgpass`,
    },
    restApi: {
      listen: `0.0.0.0:${PATRONI_PORT}`,
      // The password comes from PATRONI_RESTAPI_PASSWORD (the credentials Secret).
      authentication: { username: RESTAPI_USERNAME },
      tls: {
        certFile: `${PATRONI_TLS_DIR}/${TLS_FILES.cert}`,
        keyFile: `${PATRONI_TLS_DIR}/${TLS_FILES.key}`,
        caFile: `${PATRONI_TLS_DIR}/${TLS_FILES.ca}`,
      },
    },
    authentication: {
      superuser: { username: USERS.superuser },
      replication: { username: USERS.replication },
      rewind: { username: USERS.rewind },
    },
    allowedCidrs: settings.replicationSourceRanges,
    archive: { command: pgBackRestArchiveCommand(conf(PGBACKREST_FILE), settings.scope) },
    ...(primary
      ? {
          standbyCluster: {
            host: primary.host,
            port: primary.port,
            restoreCommand: pgBackRestRestoreCommand(
              primaryConf,
              primary.stanza,
              PRIMARY_REPO_INDEX,
            ),
            pgBackRestRestoreCommand: `pgbackrest --config=${primaryConf} --stanza=${primary.stanza} --repo=${PRIMARY_REPO_INDEX} --delta restore`,
          },
        }
      : {}),
    postInit: conf(POST_INIT_FILE),
  };
}

/** One RBAC rule: core API group, a resource, its verbs. */
export interface CoreRule {
  readonly apiGroups: readonly [""];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * Exactly what Patroni 3.0.2's Kubernetes DCS calls (patroni/dcs/kubernetes.py): on the leader,
 * config, sync and failover objects (Endpoints with `use_endpoints`, else ConfigMaps) it reads,
 * lists, watches, creates, patches, and `patronictl remove` deletes the collection; it lists,
 * watches and patches pods (its own role label and status); it creates the `<scope>-config`
 * Service when missing. Nothing else, no wildcards.
 */
export function patroniRbacRules(useEndpoints = true): CoreRule[] {
  return [
    {
      apiGroups: [""],
      resources: [useEndpoints ? "endpoints" : "configmaps"],
      verbs: ["get", "list", "watch", "create", "patch", "deletecollection"],
    },
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "patch"] },
    { apiGroups: [""], resources: ["services"], verbs: ["create"] },
  ];
}

export { internalLoadBalancerAnnotations } from "../shared/loadBalancer";
