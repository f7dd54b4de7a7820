/**
 * The one place that states which Patroni and PostgreSQL drstack deploys, and which ones the
 * drill runs. The default PostgreSQL image (components/postgres/settings.ts), the settings
 * validator's timing floors, the drill (drill/runtime.ts), its report header and the README read
 * these. Pure; no imports.
 */

/** A Patroni timing floor: values below are rewritten by that Patroni (not refused). */
export interface TimingFloor {
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
}

/**
 * What `pulumi up` deploys by default: Crunchy Postgres for Kubernetes 5.8.2's PostgreSQL 17 image.
 * Its component versions are published in the CPK 5.8.x release notes
 * (https://access.crunchydata.com/documentation/postgres-operator/latest/releases/5.8.x):
 * PostgreSQL 17.5, Patroni 4.0.4, pgBackRest 2.54.2; the operator's own manifests name this tag
 * as `postgres_17` of release 5.8.2 (image registry registry.developers.crunchydata.com).
 * An alternative with the same Patroni/PostgreSQL is Spilo (ghcr.io/zalando/spilo-17:4.0-p3,
 * postgres-appliance/Dockerfile pins `PATRONIVERSION=4.0.4`, `PGVERSION=17`), which has no pgBackRest.
 */
export const DEPLOYED = {
  image: "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.5-2520",
  imagePublishedBy: "Crunchy Postgres for Kubernetes 5.8.2 (release notes 5.8.x)",
  /** Patroni in the image (major.minor is what must match the drill). */
  patroni: "4.0.4",
  postgres: "17.5",
  pgBackRest: "2.54.2",
  /** pg_ctl, initdb, postgres in the image. */
  binDir: "/usr/pgsql-17/bin",
  /** The image's `postgres` user. */
  runAsUser: 26,
} as const;

/** A Patroni the drill can run, and where it comes from. */
export interface DrillVersion {
  /** Exact Patroni version (`patroni --version`). */
  readonly patroni: string;
  /** PostgreSQL major version run with it. */
  readonly postgresMajor: number;
  /** `trixie`: Debian 13 packages fetched into a cache by scripts/fetch-trixie.sh; `system`: Debian 12's installed packages. */
  readonly source: "trixie" | "system";
}

/** The drill's default: Debian 13's Patroni 4.0.7 + PostgreSQL 17, the deployed image's major.minor. */
export const DRILL_DEFAULT: DrillVersion = {
  patroni: "4.0.7",
  postgresMajor: 17,
  source: "trixie",
};

/** Every Patroni the drill can run (`drstack drill --patroni VERSION`). */
export const DRILL_VERSIONS: readonly DrillVersion[] = [
  DRILL_DEFAULT,
  { patroni: "3.0.2", postgresMajor: 15, source: "system" },
];

/** `major.minor` of a version string. */
export function majorMinor(v: string): string {
  return v.split(".").slice(0, 2).join(".");
}

/**
 * The floors Patroni applies in `Config._validate_and_adjust_timeouts` (patroni/config.py, since
 * 3.2; read at tag v4.0.7): `loop_wait` >= 1, `retry_timeout` >= 3, `ttl` >= 20; a smaller value
 * is replaced by the floor, and `loop_wait + 2 * retry_timeout > ttl` lowers loop_wait (then
 * retry_timeout). Older Patroni (3.0.x) keeps what it is given.
 */
export function patroniTimingFloor(patroniVersion: string): TimingFloor | undefined {
  const [maj, min] = patroniVersion.split(".").map(Number);
  if (maj > 3 || (maj === 3 && min >= 2)) return { ttl: 20, loopWait: 1, retryTimeout: 3 };
  return undefined;
}
