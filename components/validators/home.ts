/**
 * The init container that assembles a validator's CometBFT home on its state volume, as a POSIX
 * shell script (pure text). Rendered files (config.toml, genesis.json) are refreshed on every
 * start: they follow the network file. Keys are copied from the key Secret after checking them
 * against the network file's public halves. `data/priv_validator_state.json`, the double-sign
 * guard, is written only when absent: never overwritten by a restart, redeploy or stack swap.
 */
import { HOME_FILES } from "./cometbft";
import { INITIAL_SIGN_STATE } from "./keys";

/** Where the init container finds its inputs (mounted read-only). */
export const INIT_SOURCES = {
  config: "/etc/validator/config",
  keys: "/etc/validator/keys",
} as const;

/** Environment the script reads (besides the paths above, overridable for tests). */
export const INIT_ENV = {
  home: "CMT_HOME",
  configSrc: "CONFIG_SRC",
  keysSrc: "KEYS_SRC",
  address: "EXPECTED_ADDRESS",
  nodeId: "EXPECTED_NODE_ID",
  genesisSha256: "GENESIS_SHA256",
} as const;

/** Shell script of the init container (`sh -c`). Uses only POSIX sh, busybox/coreutils tools. */
export function initHomeScript(): string {
  const e = INIT_ENV;
  const state = JSON.stringify(INITIAL_SIGN_STATE);
  return `set -eu
home="\${${e.home}}"; cfg="\${${e.configSrc}:-${INIT_SOURCES.config}}"; keys="\${${e.keysSrc}:-${INIT_SOURCES.keys}}"
umask 077
mkdir -p "$home/config" "$home/data"
# The public key inside a CometBFT private key value (base64 of seed || public key).
pubhash() { tr -d ' \\t\\r\\n' < "$1" | grep -o '"priv_key":{[^}]*}' | grep -o '"value":"[^"]*"' | cut -d'"' -f4 | base64 -d | tail -c 32 | sha256sum | cut -c1-40; }
addr=$(pubhash "$keys/priv_validator_key.json" | tr a-f A-F)
if [ "$addr" != "\${${e.address}}" ]; then
  echo "priv_validator_key.json holds the key of address $addr, not \${${e.address}} (the network file's key): refusing to start" >&2; exit 1
fi
id=$(pubhash "$keys/node_key.json")
if [ "$id" != "\${${e.nodeId}}" ]; then
  echo "node_key.json holds node ID $id, not \${${e.nodeId}} (the network file's node key): refusing to start" >&2; exit 1
fi
if [ "$(sha256sum "$cfg/genesis.json" | cut -c1-64)" != "\${${e.genesisSha256}}" ]; then
  echo "genesis.json does not have the pinned sha256 \${${e.genesisSha256}}: refusing to start" >&2; exit 1
fi
for f in config.toml genesis.json; do cp "$cfg/$f" "$home/config/$f.new" && mv "$home/config/$f.new" "$home/config/$f"; done
for f in priv_validator_key.json node_key.json; do cp "$keys/$f" "$home/config/$f.new" && mv "$home/config/$f.new" "$home/config/$f"; done
# The double-sign guard: created once, never overwritten.
[ -f "$home/${HOME_FILES.privValidatorState}" ] || printf '%s\\n' '${state}' > "$home/${HOME_FILES.privValidatorState}"
`;
}
