/**
 * The chain reads voting power from genesis.json, not from drstack's network file: every genesis a
 * stack deploys must list exactly the network file's validators, each with the address derived
 * from its public key and the declared power, and every validator of the network must deploy the
 * same genesis. Then the voting-power rules judge what the chain will actually run.
 */
import { addressOfPubKey, validatorHomes } from "../../lib/cometbft";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "genesis-powers",
  area: "validators",
  kind: "stack",
  scope: "network",
  description:
    "Every deployed genesis.json lists exactly the network file's validators, each with the sha256-derived address of its public key and its declared votingPower, and all validators deploy the same genesis.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Let drstack render genesis.json from stacks/network.yaml (give every validator its public keys under validators[].keys); for an existing chain, make validators[].votingPower and keys equal the chain's genesis, and pin the genesis by sha256 under chain.genesis.",
  configSchema: { properties: {} },
  validateStack: (args, reportViolation) => {
    const { docs } = topologies(args.resources);
    const homes = validatorHomes(args.resources).filter(
      (h) => h.genesis !== undefined || h.genesisError !== undefined,
    );
    if (homes.length === 0) {
      args.notApplicable("no validator genesis.json in this stack");
      return;
    }
    const texts = new Set(homes.filter((h) => h.genesisText).map((h) => h.genesisText));
    if (texts.size > 1)
      reportViolation(
        `validators ${homes.map((h) => h.validator).join(", ")} deploy ${texts.size} different genesis documents: nodes with different genesis never join one chain`,
        homes[0].urn,
      );
    const network = docs[0]?.network;
    for (const h of homes) {
      if (h.genesisError || !Array.isArray(h.genesis?.validators)) {
        reportViolation(
          `validator ${h.validator}: ${h.genesisError ?? "genesis.json has no validators list"}`,
          h.urn,
        );
        continue;
      }
      if (!network) continue;
      const listed = new Map(h.genesis!.validators!.map((v) => [String(v.name), v]));
      for (const v of network.validators) {
        const g = listed.get(v.name);
        if (!g) {
          reportViolation(
            `genesis.json of ${h.validator} does not list validator ${v.name} (power ${v.votingPower} in network ${network.name})${v.keys?.validator ? "" : ": give it validators[].keys in the network file"}`,
            h.urn,
          );
          continue;
        }
        listed.delete(v.name);
        if (String(g.power) !== String(v.votingPower))
          reportViolation(
            `genesis.json of ${h.validator} gives ${v.name} power ${String(g.power)}, the network file ${v.votingPower}`,
            h.urn,
          );
        const key = String(g.pub_key?.value ?? "");
        if (v.keys?.validator && key !== v.keys.validator)
          reportViolation(
            `genesis.json of ${h.validator} gives ${v.name} another public key than the network file's`,
            h.urn,
          );
        if (key && String(g.address) !== addressOfPubKey(key))
          reportViolation(
            `genesis.json of ${h.validator}: ${v.name}'s address ${String(g.address)} is not its public key's (${addressOfPubKey(key)}, the first 20 bytes of sha256)`,
            h.urn,
          );
      }
      for (const extra of listed.keys())
        reportViolation(
          `genesis.json of ${h.validator} lists ${extra}, which the network file does not declare: its power is invisible to the voting-power rules`,
          h.urn,
        );
    }
  },
};
