#!/usr/bin/env bash
# Installs the Debian packages drstack's tests and drill run for real: Patroni (+ python3-idna, which
# patronictl needs to check a certificate's DNS names), etcd, PostgreSQL 15,
# Redis + Sentinel (+ redis-tools), pgBackRest, Prometheus (promtool), the Pushgateway (+ htpasswd
# for its bcrypt web config), rclone, jq and gnupg; then the drill's Debian 13 Patroni 4.0.7,
# PostgreSQL 17 and pgBackRest 2.55 into a cache (scripts/fetch-trixie.sh, no system change).
#
# Idempotent and quiet when everything is present (`npm test` runs it before every run). When it
# cannot install (not Debian, not root and no password-less sudo, no package index that has a
# package), it stops at once with one line naming the exact command to run, exit 1.
#
#   bash scripts/install-debian-deps.sh           install what is missing
#   bash scripts/install-debian-deps.sh --check   only say what is missing (exit 1 if anything)
#
# DRSTACK_DEBIAN_PACKAGES (space-separated) replaces the list, for tests of this script.
set -uo pipefail
read -r -a PACKAGES <<<"${DRSTACK_DEBIAN_PACKAGES:-patroni python3-idna etcd-server postgresql-15 redis-server redis-sentinel redis-tools pgbackrest prometheus prometheus-pushgateway apache2-utils rclone jq gnupg}"
SELF="scripts/install-debian-deps.sh"
fail() {
  echo "drstack: $*" >&2
  exit 1
}

command -v dpkg-query >/dev/null 2>&1 ||
  fail "the real-tool tests need Debian 12 packages and this machine has no dpkg: run them on Debian 12 (bookworm), or install ${PACKAGES[*]} yourself"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The drill's default Patroni/PostgreSQL (the deployed image's 4.0 / 17) come from Debian 13 into a
# cache (scripts/fetch-trixie.sh, idempotent; no system package changes). Not for this script's
# own tests, which replace the package list.
fetch_trixie() {
  [ -n "${DRSTACK_DEBIAN_PACKAGES:-}" ] && return 0
  if [ "${1:-}" = "--check" ]; then
    [ -f "$(bash "$(dirname "$0")/fetch-trixie.sh" --print)/ready" ] ||
      fail "the drill's Patroni 4.0.7 / PostgreSQL 17 are not fetched: run \`bash scripts/fetch-trixie.sh\`"
    return 0
  fi
  bash "$(dirname "$0")/fetch-trixie.sh" || fail "fetching Debian 13 packages failed: run \`bash scripts/fetch-trixie.sh\` to see why"
}
if [ ${#missing[@]} -eq 0 ]; then
  fetch_trixie "${1:-}"
  exit 0
fi
[ "${1:-}" = "--check" ] && fail "missing Debian packages ${missing[*]}: run \`sudo bash $SELF\`"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null ||
    fail "the tests need Debian packages (missing: ${missing[*]}) and installing them needs root: run \`sudo bash $SELF\`, then \`npm test\`"
  SUDO=(sudo -n)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1 ||
  fail "apt-get update failed ($(tail -n 1 "$log")): fix the package sources, run \`${SUDO[*]:+sudo }apt-get update\`, then \`${SUDO[*]:+sudo }bash $SELF\`"
for p in "${missing[@]}"; do
  # Not `apt-cache ... | grep -q`: under pipefail grep's early exit makes apt-cache die of SIGPIPE.
  policy=$(apt-cache policy "$p" 2>/dev/null)
  grep -q 'Candidate: [^(]' <<<"$policy" ||
    fail "no package index offers $p: add Debian 12 (bookworm) main to the apt sources, run \`${SUDO[*]:+sudo }apt-get update\`, then \`${SUDO[*]:+sudo }bash $SELF\`"
done
echo "drstack: installing Debian packages ${missing[*]} (once; later runs find them)"
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
  fail "apt-get install failed ($(tail -n 1 "$log")): run \`${SUDO[*]:+sudo }apt-get install ${missing[*]}\` to see why"
# The packages start system services on install; drstack starts its own processes on its own ports.
for svc in postgresql redis-server redis-sentinel etcd prometheus prometheus-pushgateway patroni; do
  "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 ||
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
done
echo "drstack: Debian packages installed"
fetch_trixie
