/**
 * CometBFT keys, pure. Formats per CometBFT v0.38: `crypto/ed25519` (type names, 32-byte public
 * key, 64-byte private key = seed || public key), `p2p/key.go` (node ID = hex of the public key's
 * address), `privval/file.go` (priv_validator_key.json, priv_validator_state.json) and
 * `crypto.AddressHash` (address = first 20 bytes of sha256(public key), upper hex in JSON).
 *
 * drstack keeps private halves out of its plans: the network file carries the public halves
 * (`validators[].keys`), every stack renders the same genesis and peer lists from them, and each
 * validator's private keys live in its key Secret, checked against the public halves at start.
 */
import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2";
import { PUB_KEY_PATTERN } from "../topology/model";

export const PUB_KEY_TYPE = "tendermint/PubKeyEd25519";
export const PRIV_KEY_TYPE = "tendermint/PrivKeyEd25519";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function pubBytes(pubKeyB64: string): Uint8Array {
  const b = Buffer.from(pubKeyB64, "base64");
  if (b.length !== 32 || !PUB_KEY_PATTERN.test(pubKeyB64))
    throw new Error(`not a base64 ed25519 public key (32 bytes): ${JSON.stringify(pubKeyB64)}`);
  return new Uint8Array(b);
}

/** `crypto.AddressHash`: the first 20 bytes of sha256 of the public key. */
export function addressBytes(pubKeyB64: string): Uint8Array {
  return sha256(pubBytes(pubKeyB64)).slice(0, 20);
}

/** A validator's address as genesis.json and priv_validator_key.json write it (upper hex). */
export function validatorAddress(pubKeyB64: string): string {
  return hex(addressBytes(pubKeyB64)).toUpperCase();
}

/** `p2p.PubKeyToID`: a node's ID (lower hex of its public key's address). */
export function nodeId(pubKeyB64: string): string {
  return hex(addressBytes(pubKeyB64));
}

/** The public key (base64) of a 32-byte ed25519 seed. */
export function publicKeyOf(seed: Uint8Array): string {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes, not ${seed.length}`);
  return Buffer.from(ed25519.getPublicKey(seed)).toString("base64");
}

/** CometBFT's private key value: base64 of seed || public key (64 bytes). */
export function privateKeyValue(seed: Uint8Array): string {
  const pub = ed25519.getPublicKey(seed);
  return Buffer.concat([Buffer.from(seed), Buffer.from(pub)]).toString("base64");
}

export interface PubKeyJson {
  readonly type: typeof PUB_KEY_TYPE;
  readonly value: string;
}

export function pubKeyJson(pubKeyB64: string): PubKeyJson {
  pubBytes(pubKeyB64);
  return { type: PUB_KEY_TYPE, value: pubKeyB64 };
}

/** `config/priv_validator_key.json` (privval.FilePVKey) of a seed. */
export function privValidatorKeyJson(seed: Uint8Array) {
  const pub = publicKeyOf(seed);
  return {
    address: validatorAddress(pub),
    pub_key: pubKeyJson(pub),
    priv_key: { type: PRIV_KEY_TYPE, value: privateKeyValue(seed) },
  };
}

/** `config/node_key.json` (p2p.NodeKey) of a seed. */
export function nodeKeyJson(seed: Uint8Array) {
  return { priv_key: { type: PRIV_KEY_TYPE, value: privateKeyValue(seed) } };
}

/**
 * `data/priv_validator_state.json` of a validator that never signed (privval.FilePVLastSignState:
 * height is an int64, written as a string; round and step are numbers).
 */
export const INITIAL_SIGN_STATE = { height: "0", round: 0, step: 0 } as const;

/** The public halves the network file carries for one validator. */
export interface ValidatorPublicKeys {
  /** Consensus (priv_validator) public key, base64. */
  readonly validator: string;
  /** Node (p2p) public key, base64. */
  readonly node: string;
}

/** Fresh keys for one validator: the two Secret files and the network file's public halves. */
export function generateValidatorKeys(random: (n: number) => Uint8Array): {
  readonly files: { "priv_validator_key.json": string; "node_key.json": string };
  readonly keys: ValidatorPublicKeys;
} {
  const v = random(32);
  const n = random(32);
  return {
    files: {
      "priv_validator_key.json": JSON.stringify(privValidatorKeyJson(v), null, 2),
      "node_key.json": JSON.stringify(nodeKeyJson(n), null, 2),
    },
    keys: { validator: publicKeyOf(v), node: publicKeyOf(n) },
  };
}
