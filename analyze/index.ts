/**
 * Failure-domain analysis (pure): the domains, the facts read from rendered resources, the bounds
 * (exported for the drill: `patroniFailoverBound`, `sentinelFailoverBound`, `stackSwapBound`),
 * the analysis and its report formats.
 */
import type { Network } from "../components/topology/model";
import type { Res } from "../components/storage/inspect";
import { analyze, type Analysis, type AnalysisOptions } from "./analysis";
import { resourcesBySite, siteFacts, type SiteFacts } from "./facts";

export * from "./analysis";
export * from "./bounds";
export * from "./domains";
export * from "./facts";
export * from "./report";

/** The facts of every site of `network` whose resources are among `resources`. */
export function factsFromResources(
  network: Network,
  resources: readonly Res[],
): Map<string, SiteFacts> {
  const bySite = resourcesBySite(resources);
  const out = new Map<string, SiteFacts>();
  for (const site of network.sites) {
    const list = bySite.get(site.name);
    if (list) out.set(site.name, siteFacts(site.name, list));
  }
  return out;
}

/** Reads the facts from the resources, then analyzes every failure domain. */
export function analyzeResources(
  network: Network,
  resources: readonly Res[],
  opts: AnalysisOptions = {},
): Analysis {
  return analyze(network, factsFromResources(network, resources), opts);
}
