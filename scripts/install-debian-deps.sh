#!/usr/bin/env bash
# Installs the Debian packages drstack's tests and drill run for real: Patroni, etcd, PostgreSQL 15,
# Redis + Sentinel (+ redis-tools), pgBackRest, Prometheus (promtool), the Pushgateway (+ htpasswd for its bcrypt web config), rclone, jq and gnupg. Idempotent; needs root (or sudo).
set -euo pipefail
PACKAGES=(patroni etcd-server postgresql-15 redis-server redis-sentinel redis-tools pgbackrest prometheus prometheus-pushgateway apache2-utils rclone jq gnupg)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: all present (${PACKAGES[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "debian packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services on install; drstack starts its own processes on its own ports.
for svc in postgresql redis-server redis-sentinel etcd prometheus prometheus-pushgateway patroni; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "debian packages: done"
