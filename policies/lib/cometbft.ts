/**
 * The CometBFT homes a stack deploys, read back from the validators' config ConfigMaps
 * (`config.toml`, `genesis.json`) as CometBFT reads them: TOML by a TOML parser, genesis as JSON,
 * addresses derived from public keys as crypto/ed25519 does (first 20 bytes of sha256).
 */
import { createHash } from "node:crypto";
import { parse as parseToml } from "smol-toml";
import { VALIDATOR_COMPONENT, VALIDATOR_LABEL } from "../../components/validators/labels";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface GenesisValidator {
  readonly address?: unknown;
  readonly pub_key?: { readonly type?: unknown; readonly value?: unknown };
  readonly power?: unknown;
  readonly name?: unknown;
}

export interface ValidatorHome {
  readonly urn: string;
  /** The validator's name (label), or the ConfigMap's. */
  readonly validator: string;
  /** Parsed config.toml, or why it could not be read. */
  readonly config?: Props;
  readonly configError?: string;
  /** Parsed genesis.json and its text, or why it could not be read. */
  readonly genesis?: { readonly validators?: readonly GenesisValidator[] } & Props;
  readonly genesisText?: string;
  readonly genesisError?: string;
}

/** Upper-case hex of the first 20 bytes of sha256 of an ed25519 public key (base64). */
export function addressOfPubKey(pubKeyB64: string): string {
  return createHash("sha256")
    .update(Buffer.from(pubKeyB64, "base64"))
    .digest()
    .subarray(0, 20)
    .toString("hex")
    .toUpperCase();
}

/** Every validator home ConfigMap (a validator's labels and config.toml or genesis.json). */
export function validatorHomes(
  resources: readonly { type: string; urn: string; props: Props }[],
): ValidatorHome[] {
  const out: ValidatorHome[] = [];
  for (const r of resources) {
    if (r.type !== "kubernetes:core/v1:ConfigMap") continue;
    const labels = r.props.metadata?.labels ?? {};
    const data = r.props.data ?? {};
    if (labels["app.kubernetes.io/component"] !== VALIDATOR_COMPONENT) continue;
    if (typeof data["config.toml"] !== "string" && typeof data["genesis.json"] !== "string")
      continue;
    const home: {
      -readonly [K in keyof ValidatorHome]: ValidatorHome[K];
    } = {
      urn: r.urn,
      validator: String(labels[VALIDATOR_LABEL] ?? r.props.metadata?.name ?? r.urn),
    };
    if (typeof data["config.toml"] === "string") {
      try {
        home.config = parseToml(data["config.toml"]) as Props;
      } catch (e) {
        home.configError = `config.toml does not parse: ${(e as Error).message.split("\n")[0]}`;
      }
    }
    if (typeof data["genesis.json"] === "string") {
      home.genesisText = data["genesis.json"];
      try {
        home.genesis = JSON.parse(data["genesis.json"]);
      } catch (e) {
        home.genesisError = `genesis.json does not parse: ${(e as Error).message}`;
      }
    }
    out.push(home);
  }
  return out;
}
