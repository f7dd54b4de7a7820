/**
 * Every container image the stacks reference, in one catalogue: the reference (tag pinned), where
 * it is published, who publishes it, what our workloads need from it and where that was checked
 * (the image's published build recipe). A test walks every planned resource and fails on an image
 * that is not here; nothing in the catalogue is an image that does not exist.
 *
 * Lowest layer: imports only versions.ts (which states the deployed Patroni/PostgreSQL image). Domain
 * settings take their defaults from here.
 */

import { DEPLOYED } from "./versions";

export interface CatalogImage {
  /** The image reference a pod spec names (`repository:tag`, tag pinned). */
  readonly ref: string;
  /** Where it is pulled from and who publishes it. */
  readonly publishedBy: string;
  /** What our workloads run from it (binaries, shell, libraries). */
  readonly provides: readonly string[];
  /** Which workloads use it and for what. */
  readonly usedFor: string;
  /** The published recipe the `provides` list was checked against. */
  readonly recipe: string;
}

/** Names of the catalogue's entries. */
export type ImageName =
  | "postgres"
  | "redis"
  | "redisTools"
  | "rclone"
  | "debian"
  | "node"
  | "cometbft"
  | "pushgateway"
  | "redisExporter"
  | "cloudwatchExporter"
  | "stackdriverExporter";

export const IMAGES: Readonly<Record<ImageName, CatalogImage>> = {
  postgres: {
    ref: DEPLOYED.image,
    publishedBy: `Crunchy Data (registry.developers.crunchydata.com), ${DEPLOYED.imagePublishedBy}`,
    provides: [
      "bash",
      `patroni ${DEPLOYED.patroni}`,
      `postgres, pg_ctl, initdb, psql (${DEPLOYED.binDir})`,
      `pgbackrest ${DEPLOYED.pgBackRest}`,
      "python3",
      "tar",
    ],
    usedFor:
      "Patroni PostgreSQL and its pgBackRest TLS server; the pgBackRest backup jobs and the restore verification (pgbackrest verify/restore, pg_ctl, psql; python3 reads `pgbackrest info` JSON)",
    recipe:
      "Crunchy Postgres for Kubernetes 5.8.x release notes (component versions: PostgreSQL, Patroni, pgBackRest) and the operator's manifests (postgres_17 image of 5.8.2); the image's own build recipe is not public (the archived github.com/CrunchyData/crunchy-containers build/postgres/Dockerfile shows the same layout: crunchy-backrest, pip patroni, /usr/pgsql-<major>/bin)",
  },
  redis: {
    ref: "redis:7.2.5-alpine",
    publishedBy: "Docker Official Images (docker.io/library/redis)",
    provides: ["redis-server", "redis-sentinel", "redis-cli"],
    usedFor: "Redis servers and Sentinels",
    recipe: "github.com/docker-library/redis 7.2/alpine/Dockerfile",
  },
  redisTools: {
    ref: "redis:7.2.5-bookworm",
    publishedBy: "Docker Official Images (docker.io/library/redis)",
    provides: ["bash", "coreutils", "mawk", "redis-cli", "redis-check-rdb"],
    usedFor:
      "the Redis RDB backup job and the RDB part of restore verification (redis-cli --rdb, redis-check-rdb); rclone comes from the rclone image through an init container",
    recipe:
      "github.com/docker-library/redis 7.2/debian/Dockerfile (FROM debian:bookworm-slim; make install; redis-check-rdb is a link to redis-server)",
  },
  rclone: {
    ref: "rclone/rclone:1.68.2",
    publishedBy: "the rclone project (docker.io/rclone/rclone)",
    provides: [
      "/usr/local/bin/rclone (static, CGO_ENABLED=0: runs in any Linux image)",
      "/etc/ssl/certs/ca-certificates.crt",
      "busybox cp",
    ],
    usedFor:
      "init container `tools` of every job that talks to a bucket: copies rclone and the CA bundle into the shared emptyDir /tools",
    recipe:
      "github.com/rclone/rclone Dockerfile (golang:alpine builder with CGO_ENABLED=0; alpine final image with ca-certificates)",
  },
  debian: {
    ref: "debian:12.8-slim",
    publishedBy: "Docker Official Images (docker.io/library/debian)",
    provides: ["bash", "coreutils", "findutils", "mawk", "sed", "tar"],
    usedFor: "the bucket copy jobs (rclone from /tools)",
    recipe:
      "github.com/debuerreotype/docker-debian-artifacts bookworm/slim (Essential/Required packages)",
  },
  node: {
    ref: "node:22.23.2-bookworm-slim",
    publishedBy: "Docker Official Images (docker.io/library/node)",
    provides: ["node 22 (node:crypto: AES-256-GCM, X25519, HKDF)", "bash", "coreutils"],
    usedFor:
      "the custodial validator key backup job (seals the key files to the custodians' recovery key; rclone from /tools)",
    recipe:
      "github.com/nodejs/docker-node 22/bookworm-slim/Dockerfile (FROM debian:bookworm-slim, ENV NODE_VERSION=22.23.2; bash, coreutils, findutils, mawk from the Debian base)",
  },
  cometbft: {
    ref: "cometbft/cometbft:v0.38.17",
    publishedBy: "the CometBFT project (docker.io/cometbft/cometbft)",
    provides: ["cometbft"],
    usedFor: "validator nodes",
    recipe: "github.com/cometbft/cometbft DOCKER/Dockerfile",
  },
  pushgateway: {
    ref: "prom/pushgateway:v1.10.0",
    publishedBy: "the Prometheus project (docker.io/prom/pushgateway)",
    provides: ["pushgateway"],
    usedFor: "the site's Pushgateway the backup jobs push metrics to",
    recipe: "github.com/prometheus/pushgateway Dockerfile",
  },
  redisExporter: {
    ref: "oliver006/redis_exporter:v1.66.0",
    publishedBy: "oliver006 (docker.io/oliver006/redis_exporter)",
    provides: ["redis_exporter"],
    usedFor: "Redis metrics sidecar",
    recipe: "github.com/oliver006/redis_exporter Dockerfile",
  },
  cloudwatchExporter: {
    ref: "prom/cloudwatch-exporter:v0.16.0",
    publishedBy: "the Prometheus project (docker.io/prom/cloudwatch-exporter)",
    provides: ["cloudwatch_exporter (java)"],
    usedFor: "S3 replication metrics on AWS sites",
    recipe: "github.com/prometheus/cloudwatch_exporter Dockerfile",
  },
  stackdriverExporter: {
    ref: "prometheuscommunity/stackdriver-exporter:v0.16.0",
    publishedBy: "the Prometheus community (docker.io/prometheuscommunity/stackdriver-exporter)",
    provides: ["stackdriver_exporter"],
    usedFor: "GCS metrics on GCP sites",
    recipe: "github.com/prometheus-community/stackdriver_exporter Dockerfile",
  },
};

/**
 * The single-image variant of the backup jobs (every tool in one image, including gpg for the
 * OpenPGP key job). It is NOT published by anyone: build it from `images/backup-tools/Containerfile`
 * (Debian packages), push it to your registry and set `drstack:backup.image` to that reference.
 * Never a default.
 */
export const BACKUP_TOOLS_RECIPE = "images/backup-tools/Containerfile";

/** Where the tools init container puts rclone and the CA bundle (an emptyDir). */
export const TOOLS_DIR = "/tools";

/** The catalogue entry of an image reference, or undefined when it is not catalogued. */
export function catalogued(ref: string): CatalogImage | undefined {
  return Object.values(IMAGES).find((i) => i.ref === ref);
}
