#!/usr/bin/env bash
# Runs README's two quick-start commands as a newcomer would: in a fresh clone of this repository's
# HEAD, with a scratch HOME and an empty npm cache, nothing else set up. Exits with the first
# failing command's status.
#
#   bash scripts/newcomer.sh                      both commands, the whole test suite
#   bash scripts/newcomer.sh dist/test/a.test.js  the second command with only these test files
#                                                 (`npm test -- FILES`, the same pretest)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mapfile -t commands < <(awk '/^## Quick start/ { q = 1; next } q && /^```sh/ { b = 1; next }
  b && /^```/ { exit } b { sub(/[[:space:]]+#.*$/, ""); if ($0 != "") print }' "$repo/README.md")
[ ${#commands[@]} -eq 2 ] || {
  echo "newcomer: README's quick start must have exactly two commands, found ${#commands[@]}" >&2
  exit 2
}
if [ $# -gt 0 ]; then
  [ "${commands[1]}" = "npm test" ] || { echo "newcomer: the second command is not npm test" >&2; exit 2; }
  commands[1]="npm test -- $*"
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/drstack-newcomer-XXXXXX")
[ -n "${DRSTACK_KEEP:-}" ] || trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home"
git clone -q --no-local "$repo" "$scratch/clone"
cd "$scratch/clone"
for c in "${commands[@]}"; do
  echo "newcomer \$ $c"
  env -i PATH="$PATH" HOME="$scratch/home" npm_config_cache="$scratch/home/.npm" \
    TERM=dumb LANG=C.UTF-8 ${TMPDIR:+TMPDIR="$TMPDIR"} bash -c "$c"
done
echo "newcomer: both commands passed in a fresh clone ($(git rev-parse --short HEAD))"
