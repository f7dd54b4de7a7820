/**
 * Settings of a site's Patroni PostgreSQL cluster: the `drstack:postgres` stack config key (a
 * structured value, shape-checked field by field), defaults by site role, and the timing rule
 * Patroni documents. Pure; no Pulumi imports.
 */
import { IMAGES } from "../shared/images";
import { fieldPath, Problems } from "../topology/errors";
import { credentialsSite, type Network, type Site } from "../topology/model";
import type { Shape } from "../topology/shape";
import { DEFAULT_DNS_ZONE, PRIVATE_RANGES } from "../shared/loadBalancer";
import { DEPLOYED, majorMinor, patroniTimingFloor } from "../shared/versions";

/** Where pgBackRest keeps a site's repository (the site's backup bucket). */
export interface BackupRepoArgs {
  /** `s3` or `gcs`. Default: by the site's cloud (aws: s3, gcp: gcs). */
  readonly type: "s3" | "gcs";
  /** Bucket name. Default `<network>-<site>-backups`. */
  readonly bucket: string;
  /** Bucket region (S3 needs it). Default: the site's region. */
  readonly region: string;
  /** Path inside the bucket. Default `/pgbackrest/<scope>`. */
  readonly path: string;
}

export interface ContainerResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** Normalized settings (every default applied). */
export interface PostgresSettings {
  /** Patroni scope (cluster name, shared by primary and standby sites). Default `pg-<network>`. */
  readonly scope: string;
  /** Members (pods). Default 3 in a primary site, 2 in a standby site. */
  readonly members: number;
  /** Leader lock TTL in seconds. Default 20 (see {@link DEFAULT_TIMING}). */
  readonly ttl: number;
  /** Seconds between HA loop runs. Default 2. */
  readonly loopWait: number;
  /** DCS / PostgreSQL retry timeout in seconds. Default 4. */
  readonly retryTimeout: number;
  /** Synchronous replication (RPO 0 on a node/zone loss). Default: on in a primary site, off in a standby. */
  readonly synchronousMode: boolean;
  /** Refuse writes when no synchronous standby is available. Default false. */
  readonly synchronousModeStrict: boolean;
  /** pg_rewind a failed leader instead of re-cloning it. Default true. */
  readonly usePgRewind: boolean;
  /** Replication slots for members. Default true. */
  readonly useSlots: boolean;
  /** Bytes a replica may lag and still be promoted. Default 1 MiB (1048576). */
  readonly maximumLagOnFailover: number;
  /** Extra PostgreSQL parameters (bootstrap DCS). Default none. */
  readonly parameters: Readonly<Record<string, string>>;
  /** StorageClass of the data volumes. Default: the cluster's default class. */
  readonly storageClass?: string;
  /** Size of each member's data volume. Default `20Gi`. */
  readonly storageSize: string;
  /** Image with Patroni 4.0, PostgreSQL 17 and pgBackRest. Default {@link DEFAULT_IMAGE}. */
  readonly image: string;
  /** Directory of pg_ctl, initdb, postgres in the image. Default {@link DEFAULT_BIN_DIR}. */
  readonly binDir: string;
  /** UID/GID the image runs PostgreSQL as. Default 26 (the default image's `postgres`). */
  readonly runAsUser: number;
  /** Container resources. Default requests 500m / 1Gi, limit 2Gi memory. */
  readonly resources: ContainerResources;
  /** The site's pgBackRest repository. */
  readonly backup: BackupRepoArgs;
  /** Full backups pgBackRest keeps (`repo1-retention-full`). Default 4 (weekly fulls: four weeks). */
  readonly retentionFull: number;
  /** DNS name other sites use for replication. Default `<scope>-<site>.<dnsZone>`. */
  readonly replicationHost: string;
  /** Private DNS zone for the default replication host. Default `drstack.internal`. */
  readonly dnsZone: string;
  /** CIDRs allowed to reach the replication LoadBalancer. Default: private ranges 10/8, 172.16/12, 192.168/16. */
  readonly replicationSourceRanges: readonly string[];
  /** Stack whose outputs a standby site follows. Default: the primary site's name. */
  readonly primaryStack: string;
  /**
   * Stack that generates the role passwords (superuser, replication, rewind, app) every site
   * uses. Default: the network's `credentialsSite` (else the primary site). A site whose own
   * name it is generates them; the others read its `postgres.secrets` output.
   */
  readonly credentialsStack: string;
  /** Derived, not configurable: this site is the network's credentials site and generates them. */
  readonly generatesCredentials: boolean;
}

/**
 * The fastest failover the deployed Patroni ({@link DEPLOYED}: 4.0) keeps as written: since 3.2
 * Patroni raises a ttl below 20 to 20 (and loop_wait below 1, retry_timeout below 3), so a
 * smaller value would not be what runs. A dead leader's lock expires after `ttl` and replicas
 * notice within `loopWait`: about 22s before promotion starts, inside the `node` RTO of 30s.
 * A short ttl costs tolerance: a DCS outage longer than `retryTimeout` demotes the leader
 * (Patroni stops writes rather than risk two leaders).
 */
export const DEFAULT_TIMING = { ttl: 20, loopWait: 2, retryTimeout: 4 } as const;
/** The deployed image: the catalogue's (components/shared/images.ts), which is versions.ts's DEPLOYED. */
export const DEFAULT_IMAGE = IMAGES.postgres.ref;
export const DEFAULT_BIN_DIR = DEPLOYED.binDir;

const str: Shape = { kind: "string" };
const stackName: Shape = {
  kind: "string",
  pattern: /^[\w.-]+(\/[\w.-]+){0,2}$/,
  hint: "use stack, project/stack or org/project/stack",
};
const quantity: Shape = {
  kind: "string",
  pattern: /^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/,
  hint: "use a Kubernetes quantity such as 500m, 1Gi",
};
const dnsName: Shape = {
  kind: "string",
  pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
  hint: "use a lower-case DNS name",
};
const cidr: Shape = {
  kind: "string",
  pattern: /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/,
  hint: "use an IPv4 CIDR such as 10.0.0.0/8",
};
const resourceMap: Shape = {
  kind: "object",
  fields: { cpu: { shape: quantity }, memory: { shape: quantity } },
};

/** Shape of `drstack:postgres` (every field optional). */
export const POSTGRES_SHAPE: Shape = {
  kind: "object",
  fields: {
    scope: {
      shape: {
        kind: "string",
        pattern: /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/,
        hint: "use a DNS label of at most 40 characters",
      },
    },
    members: { shape: { kind: "integer", min: 1, max: 9 } },
    ttl: { shape: { kind: "integer", min: 1, max: 3600 } },
    loopWait: { shape: { kind: "integer", min: 1, max: 600 } },
    retryTimeout: { shape: { kind: "integer", min: 3, max: 600 } },
    synchronousMode: { shape: { kind: "boolean" } },
    synchronousModeStrict: { shape: { kind: "boolean" } },
    usePgRewind: { shape: { kind: "boolean" } },
    useSlots: { shape: { kind: "boolean" } },
    maximumLagOnFailover: { shape: { kind: "integer", min: 0 } },
    parameters: { shape: { kind: "map", values: str } },
    storageClass: { shape: dnsName },
    storageSize: { shape: quantity },
    image: {
      shape: { kind: "string", pattern: /^\S+$/, hint: "use an image reference without spaces" },
    },
    binDir: { shape: { kind: "string", pattern: /^\/\S*$/, hint: "use an absolute path" } },
    runAsUser: { shape: { kind: "integer", min: 1, max: 2147483647 } },
    resources: {
      shape: {
        kind: "object",
        fields: { requests: { shape: resourceMap }, limits: { shape: resourceMap } },
      },
    },
    backup: {
      shape: {
        kind: "object",
        fields: {
          type: { shape: { kind: "string", enum: ["s3", "gcs"] } },
          bucket: {
            shape: {
              kind: "string",
              pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
              hint: "use a bucket name of 3-63 lower-case letters, digits, dots, dashes",
            },
          },
          region: { shape: str },
          path: {
            shape: {
              kind: "string",
              pattern: /^\/\S*$/,
              hint: "use an absolute path such as /pgbackrest",
            },
          },
        },
      },
    },
    retentionFull: { shape: { kind: "integer", min: 1, max: 9999 } },
    replicationHost: { shape: dnsName },
    dnsZone: { shape: dnsName },
    replicationSourceRanges: { shape: { kind: "array", items: cidr, minItems: 1 } },
    primaryStack: { shape: stackName },
    credentialsStack: { shape: stackName },
  },
};

export interface Timing {
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
}

/**
 * Patroni's rule `loop_wait + 2 * retry_timeout <= ttl`, and the floors below which the deployed
 * Patroni (`patroniVersion`, default {@link DEPLOYED}) would rewrite a value rather than run it;
 * a problem at the field's path otherwise.
 */
export function checkTiming(
  t: Timing,
  path: string,
  problems: Problems,
  patroniVersion: string = DEPLOYED.patroni,
): boolean {
  const floor = patroniTimingFloor(patroniVersion);
  let ok = true;
  if (floor)
    for (const k of ["ttl", "loopWait", "retryTimeout"] as const)
      if (t[k] < floor[k]) {
        ok = false;
        problems.add(
          fieldPath(path, k),
          `Patroni ${majorMinor(patroniVersion)} (the deployed image's) raises ${k} below ${floor[k]} to ${floor[k]}, so ${t[k]} would not be what runs`,
          `set ${k} to at least ${floor[k]}`,
        );
      }
  if (!ok) return false;
  if (t.loopWait + 2 * t.retryTimeout <= t.ttl) return true;
  const need = t.loopWait + 2 * t.retryTimeout;
  problems.add(
    fieldPath(path, "ttl"),
    `loopWait + 2 * retryTimeout must be <= ttl (Patroni's rule), got ${t.loopWait} + 2 * ${t.retryTimeout} = ${need} > ${t.ttl}`,
    `raise ttl to ${need}, or lower loopWait/retryTimeout`,
  );
  return false;
}

/** Checks the parts of a shape-valid `drstack:postgres` value that need more than one field. */
export function checkPostgresValue(value: unknown, path: string, problems: Problems): void {
  const v = (value ?? {}) as Record<string, unknown>;
  const num = (k: keyof Timing) =>
    typeof v[k] === "number" ? (v[k] as number) : DEFAULT_TIMING[k];
  checkTiming(
    { ttl: num("ttl"), loopWait: num("loopWait"), retryTimeout: num("retryTimeout") },
    path,
    problems,
  );
}

type Raw = Partial<Omit<PostgresSettings, "backup" | "resources">> & {
  backup?: Partial<BackupRepoArgs>;
  resources?: Partial<ContainerResources>;
};

/**
 * Applies the defaults for `site` to a shape-checked `drstack:postgres` value and checks the
 * timing rule; problems carry paths under `path`.
 */
export function normalizePostgresSettings(
  raw: unknown,
  network: Network,
  site: Site,
  problems: Problems,
  path = "config.drstack:postgres",
): PostgresSettings {
  const r = (raw ?? {}) as Raw;
  const primary = site.role === "primary";
  const scope =
    r.scope ??
    `pg-${network.name}`
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 40)
      .replace(/-+$/, "");
  const timing: Timing = {
    ttl: r.ttl ?? DEFAULT_TIMING.ttl,
    loopWait: r.loopWait ?? DEFAULT_TIMING.loopWait,
    retryTimeout: r.retryTimeout ?? DEFAULT_TIMING.retryTimeout,
  };
  checkTiming(timing, path, problems);
  const primarySite = network.sites.find((s) => s.role === "primary");
  const owner = credentialsSite(network).name;
  const dnsZone = r.dnsZone ?? DEFAULT_DNS_ZONE;
  return {
    scope,
    members: r.members ?? (primary ? 3 : 2),
    ...timing,
    synchronousMode: r.synchronousMode ?? primary,
    synchronousModeStrict: r.synchronousModeStrict ?? false,
    usePgRewind: r.usePgRewind ?? true,
    useSlots: r.useSlots ?? true,
    maximumLagOnFailover: r.maximumLagOnFailover ?? 1048576,
    parameters: r.parameters ?? {},
    ...(r.storageClass ? { storageClass: r.storageClass } : {}),
    storageSize: r.storageSize ?? "20Gi",
    image: r.image ?? DEFAULT_IMAGE,
    binDir: r.binDir ?? DEFAULT_BIN_DIR,
    runAsUser: r.runAsUser ?? 26,
    resources: {
      requests: { cpu: "500m", memory: "1Gi", ...r.resources?.requests },
      limits: { memory: "2Gi", ...r.resources?.limits },
    },
    backup: {
      type: r.backup?.type ?? (site.cloud === "aws" ? "s3" : "gcs"),
      bucket: r.backup?.bucket ?? `${network.name}-${site.name}-backups`.toLowerCase(),
      region: r.backup?.region ?? site.region,
      path: r.backup?.path ?? `/pgbackrest/${scope}`,
    },
    retentionFull: r.retentionFull ?? 4,
    replicationHost: r.replicationHost ?? `${scope}-${site.name}.${dnsZone}`,
    dnsZone,
    replicationSourceRanges: r.replicationSourceRanges ?? PRIVATE_RANGES,
    primaryStack: r.primaryStack ?? primarySite?.name ?? site.name,
    credentialsStack: r.credentialsStack ?? owner,
    generatesCredentials: site.name === owner,
  };
}
