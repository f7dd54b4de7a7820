/**
 * The init scripts the Kubernetes pods run before Redis / Sentinel start. Each copies the rendered
 * config from the (read-only) ConfigMap into a writable volume, since Redis and Sentinel rewrite
 * their config at run time, and appends the per-pod lines produced by the same renderers
 * (`redisRuntimeLines`, `sentinelRuntimeLines`) with shell variables as values. Pure.
 *
 * The password is alphanumeric (see RedisSentinel) so it needs no shell or config escaping.
 */
import { redisRuntimeLines, sentinelRuntimeLines } from "./render";
import type { RedisSettings } from "./settings";

/** Where the pods mount things. */
export const PATHS = {
  config: "/config",
  run: "/run/redis",
  data: "/data",
} as const;

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;

/**
 * Decides the pod's role at start and writes `/run/redis/redis.conf`:
 * - `MODE=replica` (standby site replicating the primary site, whose master is UPSTREAM_HOST): pod 0 replicates the
 *   upstream, the others replicate pod 0;
 * - otherwise asks the sentinels for the current master (a restarted old master must come back
 *   as a replica, not as a second master); with no answer (first start, or no sentinel up) pod 0
 *   starts as master and the others replicate it. A pod 0 that comes up as master while another
 *   master exists has no replicas, so `min-replicas-to-write` keeps it from taking writes.
 *
 * Environment (CONFIG_DIR, RUN_DIR, REDIS_PORT, SENTINEL_PORT override the pod defaults, for tests):
 * HOSTNAME, REDIS_PASSWORD, MASTER_NAME, REDIS_HEADLESS (FQDN of the headless
 * service), SENTINEL_SERVICE (FQDN), MODE (primary | replica | independent),
 * UPSTREAM_HOST / UPSTREAM_PORT (replica mode).
 */
export function redisInitScript(): string {
  const runtime = redisRuntimeLines({
    announce: { host: "${SELF}" },
    password: "${REDIS_PASSWORD}",
  });
  return `#!/bin/sh
# Rendered by drstack (components/redis/scripts.ts).
set -eu
conf="\${RUN_DIR:-${PATHS.run}}/redis.conf"
SELF="\${HOSTNAME}.\${REDIS_HEADLESS}"
ordinal="\${HOSTNAME##*-}"
pod0="\${HOSTNAME%-*}-0.\${REDIS_HEADLESS}"
cp "\${CONFIG_DIR:-${PATHS.config}}/redis.conf" "$conf"
cat >> "$conf" <<EOF
${runtime.join("\n")}
EOF
master=""
if [ "\${MODE:-}" = replica ] && [ -z "\${UPSTREAM_HOST:-}" ]; then
  echo "drstack: standby in replica mode but the primary stack exports no cross-site redis endpoint; set endpoint in its drstack:redis and deploy it, or set standby.mode independent here" >&2
  exit 1
fi
if [ "\${MODE:-}" = replica ]; then
  if [ "$ordinal" = 0 ]; then master="\${UPSTREAM_HOST} \${UPSTREAM_PORT:-${REDIS_PORT}}"; else master="$pod0 \${REDIS_PORT:-${REDIS_PORT}}"; fi
else
  answer=""
  for attempt in 1 2 3 4 5; do
    answer="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$SENTINEL_SERVICE" -p "\${SENTINEL_PORT:-${SENTINEL_PORT}}" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null || true)"
    [ -n "$(echo "$answer" | sed -n 2p)" ] && break
    sleep 1
  done
  mhost="$(echo "$answer" | sed -n 1p)"
  mport="$(echo "$answer" | sed -n 2p)"
  if [ -n "$mhost" ] && [ -n "$mport" ]; then
    if [ "$mhost" != "$SELF" ]; then master="$mhost $mport"; fi
  elif [ "$ordinal" != 0 ]; then
    master="$pod0 \${REDIS_PORT:-${REDIS_PORT}}"
  fi
fi
if [ -n "$master" ]; then echo "replicaof $master" >> "$conf"; fi
echo "drstack: $SELF starts as \${master:+replica of }\${master:-master}"
`;
}

/**
 * Writes `/run/redis/sentinel.conf`: the rendered config, with the monitored master replaced by
 * the one the other sentinels currently report (a restarted sentinel must not point back at a
 * demoted pod 0), plus the announce and auth lines.
 *
 * Environment (CONFIG_DIR, RUN_DIR, SENTINEL_PORT override the pod defaults):
 * HOSTNAME, REDIS_PASSWORD, MASTER_NAME, SENTINEL_HEADLESS (FQDN), SENTINELS (count).
 */
export function sentinelInitScript(settings: RedisSettings, monitoring: boolean): string {
  const runtime = sentinelRuntimeLines(settings, {
    announce: { host: "${SELF}" },
    password: "${REDIS_PASSWORD}",
    ...(monitoring ? { master: { host: "", port: 0 } } : {}),
  });
  return `#!/bin/sh
# Rendered by drstack (components/redis/scripts.ts).
set -eu
conf="\${RUN_DIR:-${PATHS.run}}/sentinel.conf"
SELF="\${HOSTNAME}.\${SENTINEL_HEADLESS}"
base="\${HOSTNAME%-*}"
cp "\${CONFIG_DIR:-${PATHS.config}}/sentinel.conf" "$conf"
if grep -q "^sentinel monitor $MASTER_NAME " "$conf"; then
  i=0
  while [ "$i" -lt "$SENTINELS" ]; do
    peer="$base-$i.\${SENTINEL_HEADLESS}"
    i=$((i + 1))
    [ "$peer" = "$SELF" ] && continue
    answer="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$peer" -p "\${SENTINEL_PORT:-${SENTINEL_PORT}}" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null || true)"
    mhost="$(echo "$answer" | sed -n 1p)"
    mport="$(echo "$answer" | sed -n 2p)"
    if [ -n "$mhost" ] && [ -n "$mport" ]; then
      sed -i "s|^sentinel monitor $MASTER_NAME [^ ]* [0-9]*|sentinel monitor $MASTER_NAME $mhost $mport|" "$conf"
      echo "drstack: following current master $mhost:$mport (from $peer)"
      break
    fi
  done
fi
cat >> "$conf" <<EOF
${runtime.join("\n")}
EOF
`;
}
