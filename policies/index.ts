/**
 * The drstack CrossGuard policy pack: `pulumi preview --policy-pack policies -s <stack>`.
 * Only assembles: every rule file under policies/rules/<area>/ is registered (see lib/registry).
 * The installed pack runs the compiled bin/policies/index.js (package.json main; `npm ci --prefix
 * policies` builds it with tsconfig.build.json, see docs/policies.md).
 * Constructing the pack starts the analyzer's gRPC server and never returns, so tests and the
 * offline checker (`drstack policy`) import lib/ and the rules, never this file.
 */
import { PolicyPack } from "@pulumi/policy";
import { loadRules } from "./lib/registry";

new PolicyPack("drstack", {
  description:
    "Rejects unsafe drstack topologies and workloads: region voting power, redundant validators, single signers, party hosting, PDBs, secrets, restricted pods.",
  enforcementLevel: "mandatory",
  policies: loadRules(),
});
