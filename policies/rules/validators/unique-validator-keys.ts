/**
 * One key, one validator: no two validators share a consensus public key (they would sign as one
 * validator twice: double signing) or a node key (one P2P identity, peers drop one). Judged by
 * public key, not by name, in the network file and in every genesis the stacks deploy.
 */
import { validatorHomes } from "../../lib/cometbft";
import { topologies } from "../../lib/k8s";
import type { DrStackRule } from "../../lib/rule";

export const rule: DrStackRule = {
  name: "unique-validator-keys",
  area: "validators",
  kind: "stack",
  scope: "network",
  description:
    "No two validators share a consensus public key or a node key, by public key rather than by name: in the network file's validators[].keys and in every genesis.json deployed.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Give each validator its own keys (cometbft gen-validator / gen-node-key, or drstack's key generation) and put each public key in stacks/network.yaml validators[].keys; never copy a key Secret from one validator to another.",
  configSchema: { properties: {} },
  validateStack: (args, reportViolation) => {
    const { docs } = topologies(args.resources);
    const homes = validatorHomes(args.resources).filter((h) => h.genesis?.validators);
    if (docs.length === 0 && homes.length === 0) {
      args.notApplicable("no topology and no genesis in this stack");
      return;
    }
    const reported = new Set<string>();
    const report = (message: string, urn?: string) => {
      if (reported.has(message)) return;
      reported.add(message);
      reportViolation(message, urn);
    };
    for (const doc of docs) {
      for (const kind of ["validator", "node"] as const) {
        const owners = new Map<string, string[]>();
        for (const v of doc.network.validators) {
          const key = v.keys?.[kind];
          if (key) owners.set(key, [...(owners.get(key) ?? []), v.name]);
        }
        for (const [key, names] of owners)
          if (names.length > 1)
            report(
              `validators ${names.join(", ")} share one ${kind === "validator" ? "consensus" : "node"} public key (${key}) in network ${doc.network.name}: ${kind === "validator" ? "both would sign as one validator (double signing)" : "they have one P2P identity"}`,
              doc.urn,
            );
      }
    }
    for (const h of homes) {
      const owners = new Map<string, string[]>();
      for (const v of h.genesis!.validators!) {
        const key = String(v.pub_key?.value ?? "");
        if (key) owners.set(key, [...(owners.get(key) ?? []), String(v.name ?? v.address)]);
      }
      for (const [key, names] of owners)
        if (names.length > 1)
          report(
            `genesis.json of validator ${h.validator} lists ${names.join(", ")} with one public key (${key}): one key, two validators (double signing)`,
            h.urn,
          );
    }
  },
};
