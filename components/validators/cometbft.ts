/**
 * A CometBFT v0.38 node home, rendered by pure functions: `config/config.toml` (keys and types of
 * v0.38's config template, `config/toml.go`), `config/genesis.json` (`types/genesis.go`) and the
 * peer lists derived from the node keys in the network file.
 */
import { stringify } from "smol-toml";
import type { Network, Validator } from "../topology/model";
import { DEFAULT_GENESIS_TIME } from "../topology/model";
import { nodeId, pubKeyJson, validatorAddress } from "./keys";
import type { ValidatorSettings } from "./settings";

/** The home CometBFT runs with (`--home`), on the validator's state volume. */
export const HOME = "/var/lib/validator";

/** Home-relative paths of the files CometBFT reads (config.toml's defaults). */
export const HOME_FILES = {
  config: "config/config.toml",
  genesis: "config/genesis.json",
  nodeKey: "config/node_key.json",
  privValidatorKey: "config/priv_validator_key.json",
  privValidatorState: "data/priv_validator_state.json",
} as const;

/** Consensus params as `cometbft init` writes them (`types/params.go` defaults, v0.38). */
export const DEFAULT_CONSENSUS_PARAMS = {
  block: { max_bytes: "22020096", max_gas: "-1" },
  evidence: {
    max_age_num_blocks: "100000",
    max_age_duration: "172800000000000",
    max_bytes: "1048576",
  },
  validator: { pub_key_types: ["ed25519"] },
  version: { app: "0" },
  abci: { vote_extensions_enable_height: "0" },
} as const;

export interface GenesisValidatorJson {
  readonly address: string;
  readonly pub_key: { readonly type: string; readonly value: string };
  /** int64, written as a decimal string (cmtjson). */
  readonly power: string;
  readonly name: string;
}

export interface GenesisJson {
  readonly genesis_time: string;
  readonly chain_id: string;
  readonly initial_height: string;
  readonly consensus_params: typeof DEFAULT_CONSENSUS_PARAMS;
  readonly validators: readonly GenesisValidatorJson[];
  readonly app_hash: string;
}

export function chainOf(network: Network) {
  return network.chain ?? { id: network.name, genesisTime: DEFAULT_GENESIS_TIME };
}

/**
 * The genesis of a new chain: every validator of the network file that declares its keys, with
 * its address (sha256-derived from its public key) and voting power. Validators without keys are
 * left out (the policy pack's `genesis-powers` rule names them).
 */
export function renderGenesis(network: Network): GenesisJson {
  const chain = chainOf(network);
  return {
    genesis_time: chain.genesisTime,
    chain_id: chain.id,
    initial_height: "1",
    consensus_params: DEFAULT_CONSENSUS_PARAMS,
    validators: network.validators
      .filter((v) => v.keys !== undefined)
      .map((v) => ({
        address: validatorAddress(v.keys!.validator),
        pub_key: pubKeyJson(v.keys!.validator),
        power: String(v.votingPower),
        name: v.name,
      })),
    app_hash: "",
  };
}

/** Voting power by validator name as a genesis document states it (for the policy pack). */
export function genesisPowers(genesis: unknown): Map<string, number> | undefined {
  const vals = (genesis as { validators?: unknown } | null)?.validators;
  if (!Array.isArray(vals)) return undefined;
  const out = new Map<string, number>();
  for (const v of vals as { name?: unknown; power?: unknown; pub_key?: { value?: unknown } }[]) {
    const key = typeof v.name === "string" && v.name !== "" ? v.name : String(v.pub_key?.value);
    out.set(key, Number(v.power));
  }
  return out;
}

/** The stable DNS name other nodes dial for `node` of `site`. */
export function p2pHostOf(
  network: Pick<Network, "name">,
  site: string,
  node: string,
  settings: Pick<ValidatorSettings, "p2pHost">,
): string {
  return settings.p2pHost
    .split("{node}")
    .join(node)
    .split("{site}")
    .join(site)
    .split("{network}")
    .join(network.name);
}

/** `<node-id>@<host>:<port>` of a validator with keys. */
export function peerAddress(
  network: Network,
  v: Validator,
  settings: Pick<ValidatorSettings, "p2pHost" | "ports">,
): string {
  if (!v.keys) throw new Error(`validator ${v.name} has no keys in the network file`);
  return `${nodeId(v.keys.node)}@${p2pHostOf(network, v.site, v.name, settings)}:${settings.ports.p2p}`;
}

/** config.toml as a TOML document (tables by section, as v0.38's template names them). */
export type CometConfig = Record<string, unknown>;

/**
 * One validator's config.toml. Without sentries the validators peer directly: every other
 * validator with keys is a persistent and unconditional peer, peer exchange is off (a validator
 * gossips no addresses and learns none) and the validator's own ID is kept private.
 */
export function renderValidatorToml(
  network: Network,
  validator: Validator,
  settings: Pick<ValidatorSettings, "p2pHost" | "ports" | "proxyApp" | "consensus">,
): CometConfig {
  const others = network.validators.filter((v) => v.name !== validator.name && v.keys);
  const c = settings.consensus;
  return {
    proxy_app: settings.proxyApp,
    moniker: validator.name,
    db_backend: "goleveldb",
    db_dir: "data",
    log_level: "info",
    log_format: "json",
    genesis_file: HOME_FILES.genesis,
    priv_validator_key_file: HOME_FILES.privValidatorKey,
    priv_validator_state_file: HOME_FILES.privValidatorState,
    priv_validator_laddr: "",
    node_key_file: HOME_FILES.nodeKey,
    abci: "socket",
    filter_peers: false,
    rpc: { laddr: `tcp://0.0.0.0:${settings.ports.rpc}`, unsafe: false },
    p2p: {
      laddr: `tcp://0.0.0.0:${settings.ports.p2p}`,
      external_address: `${p2pHostOf(network, validator.site, validator.name, settings)}:${settings.ports.p2p}`,
      seeds: "",
      persistent_peers: others.map((v) => peerAddress(network, v, settings)).join(","),
      unconditional_peer_ids: others.map((v) => nodeId(v.keys!.node)).join(","),
      private_peer_ids: "",
      pex: false,
      seed_mode: false,
      // Peers resolve to cluster or VPC addresses as well as public ones.
      addr_book_strict: false,
      allow_duplicate_ip: false,
    },
    statesync: { enable: false },
    consensus: {
      timeout_propose: c.timeoutPropose,
      timeout_prevote: c.timeoutPrevote,
      timeout_precommit: c.timeoutPrecommit,
      timeout_commit: c.timeoutCommit,
      double_sign_check_height: c.doubleSignCheckHeight,
      create_empty_blocks: true,
    },
    instrumentation: {
      prometheus: true,
      prometheus_listen_addr: `:${settings.ports.metrics}`,
      namespace: "cometbft",
    },
  };
}

/** TOML text of a rendered config (smol-toml). */
export function configToml(config: CometConfig): string {
  return stringify(config) + "\n";
}
