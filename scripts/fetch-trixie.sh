#!/usr/bin/env bash
# Fetches the Patroni and PostgreSQL that the deployed image runs (Debian 13 "trixie": Patroni
# 4.0.7, PostgreSQL 17) into a cache, without touching the system's packages: a private apt
# state/cache directory with trixie main as its only source, `apt-get download`, `dpkg-deb -x`.
# Patroni 4.0.7 is pure Python and runs on Debian 12's python3 with the Python libraries the
# bookworm `patroni` package pulled in (PYTHONPATH=<cache>/root/usr/lib/python3/dist-packages);
# PostgreSQL 17 is linked against trixie's glibc 2.41 (bookworm has 2.36) and libraries bookworm
# lacks (libicu76, libssl3t64, ...): they are extracted beside it, and every PostgreSQL binary is
# patched (bookworm's patchelf, also only extracted) to use trixie's dynamic loader with an RPATH
# into the cache, so it runs with no LD_LIBRARY_PATH that would leak into Patroni's Python.
#
# Idempotent: when <cache>/ready names the same package set, it does nothing.
#
#   bash scripts/fetch-trixie.sh            fetch (once)
#   bash scripts/fetch-trixie.sh --print    print the cache directory
#
# DRSTACK_TRIXIE_CACHE overrides the cache directory (default /var/cache/drstack/trixie: readable by the postgres user the drill runs PostgreSQL as).
set -euo pipefail
CACHE="${DRSTACK_TRIXIE_CACHE:-/var/cache/drstack/trixie}"
# What the drill runs from trixie: Patroni, pgBackRest 2.55 (bookworm's 2.43 predates PostgreSQL 17
# support), PostgreSQL 17 (server, client, pgbench via contrib is
# in the server package) and the shared libraries bookworm lacks at the sonames PostgreSQL 17 links.
PACKAGES=(patroni postgresql-17 postgresql-client-17 libpq5 libicu76 libssl3t64 libldap2 libxml2
  libllvm19 libffi8 libtinfo6 libzstd1 liblz4-1 libedit2 libbsd0 libmd0 libxslt1.1 libsasl2-2
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1 libc6
  libstdc++6 libgcc-s1 libcap2 libsystemd0 libuuid1 libselinux1 libpcre2-8-0 libnuma1 liburing2
  zlib1g libreadline8t64 libaudit1 libcap-ng0 libgcrypt20 libgpg-error0 liblzma5 libxxhash0
  pgbackrest libssh2-1t64 libbz2-1.0 libyaml-0-2)
STAMP="${PACKAGES[*]}"
if [ "${1:-}" = "--print" ]; then
  echo "$CACHE"
  exit 0
fi
if [ -f "$CACHE/ready" ] && [ "$(cat "$CACHE/ready")" = "$STAMP" ]; then exit 0; fi

command -v apt-get >/dev/null 2>&1 || {
  echo "drstack: fetching trixie packages needs apt-get (Debian)" >&2
  exit 1
}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || {
  echo "drstack: $KEYRING is missing: apt-get install debian-archive-keyring" >&2
  exit 1
}
mkdir -p "$CACHE"/{state/lists/partial,apt/archives/partial,etc/preferences.d,debs,root}
cat >"$CACHE/etc/sources.list" <<EOF
deb [signed-by=$KEYRING] http://deb.debian.org/debian trixie main
EOF
: >"$CACHE/etc/preferences"
APT=(apt-get -qq -o "Dir::State=$CACHE/state" -o "Dir::State::status=$CACHE/state/status"
  -o "Dir::Cache=$CACHE/apt" -o "Dir::Etc::sourcelist=$CACHE/etc/sources.list"
  -o "Dir::Etc::sourceparts=-" -o "Dir::Etc::preferences=$CACHE/etc/preferences"
  -o "Dir::Etc::preferencesparts=$CACHE/etc/preferences.d" -o "APT::Architecture=amd64"
  -o "Debug::NoLocking=1")
: >"$CACHE/state/status"
echo "drstack: fetching Debian 13 (trixie) ${PACKAGES[*]} into $CACHE (once)"
"${APT[@]}" update
rm -f "$CACHE"/debs/*.deb
(cd "$CACHE/debs" && "${APT[@]}" download "${PACKAGES[@]}")
rm -rf "$CACHE/root" "$CACHE/tools" "$CACHE/bin"
mkdir -p "$CACHE/root" "$CACHE/tools"
for d in "$CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$CACHE/root"; done
# bookworm's patchelf (the system's package index), extracted only.
(cd "$CACHE/apt" && rm -f patchelf_*.deb && apt-get -qq download patchelf && dpkg-deb -x patchelf_*.deb "$CACHE/tools")
PATCHELF="$CACHE/tools/usr/bin/patchelf"
R="$CACHE/root"
LIBS="$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu"
LOADER="$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
[ -e "$LOADER" ] || LOADER="$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
for b in "$R"/usr/lib/postgresql/17/bin/*; do
  if "$PATCHELF" --print-interpreter "$b" >/dev/null 2>&1; then
    "$PATCHELF" --set-interpreter "$LOADER" --force-rpath --set-rpath "$LIBS" "$b"
  fi
done
"$PATCHELF" --set-interpreter "$LOADER" --force-rpath --set-rpath "$LIBS" "$R/usr/bin/pgbackrest"
# bin/: only what the drill puts on PATH (pgbackrest), not every binary the packages ship.
mkdir -p "$CACHE/bin" && ln -sf "$R/usr/bin/pgbackrest" "$CACHE/bin/pgbackrest"
# Modules PostgreSQL dlopen()s (libpqwalreceiver, pgoutput, ...) find the cache's libraries too.
for m in "$R"/usr/lib/postgresql/17/lib/*.so; do
  "$PATCHELF" --force-rpath --set-rpath "$LIBS" "$m" 2>/dev/null || true
done
"$R/usr/lib/postgresql/17/bin/postgres" --version >/dev/null ||
  { echo "drstack: the fetched PostgreSQL 17 does not run on this machine" >&2; exit 1; }
"$R/usr/bin/pgbackrest" version >/dev/null ||
  { echo "drstack: the fetched pgBackRest does not run on this machine" >&2; exit 1; }
# The versions, for the drill's report header.
for d in "$CACHE"/debs/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"; done >"$CACHE/versions"
echo "$STAMP" >"$CACHE/ready"
echo "drstack: trixie packages in $CACHE/root"
