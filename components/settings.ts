/**
 * Every `drstack:` config key a stack may set: the base keys of the topology plus each domain's
 * structured key, with its shape and cross-field checks. Domains add their key here.
 */
import { BACKUP_SHAPE, checkBackupConfig } from "./backup/settings";
import { NETWORK_SHAPE } from "./network/settings";
import { checkPostgresValue, POSTGRES_SHAPE } from "./postgres/settings";
import { checkRedisConfig, REDIS_SHAPE } from "./redis/settings";
import type { Problems } from "./topology/errors";
import {
  BASE_CONFIG_KEYS,
  type KeySpec,
  readSiteSettings,
  type SiteSettings,
} from "./topology/siteConfig";
import { checkValidatorsConfig, VALIDATORS_SHAPE } from "./validators/settings";

export const SITE_CONFIG_KEYS: Readonly<Record<string, KeySpec>> = {
  ...BASE_CONFIG_KEYS,
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
  networkPolicy: {
    description:
      "What the NetworkPolicies allow beyond the cluster's pods (JSON object; see docs/network.md). Default: monitoring namespace `monitoring`, HTTPS egress to 0.0.0.0/0 (Kubernetes API, object store), no control-plane ranges.",
    shape: NETWORK_SHAPE,
  },
};

/** Reads and checks a stack's `drstack:` keys (see `readSiteSettings`). */
export function readStackSettings(
  config: Readonly<Record<string, string>>,
  problems: Problems,
): SiteSettings | undefined {
  return readSiteSettings(config, SITE_CONFIG_KEYS, problems);
}
