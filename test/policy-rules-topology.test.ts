import { expect } from "chai";
import * as path from "node:path";
import { loadNetwork } from "../components/topology/load";
import type { Network } from "../components/topology/model";
import { rule as regionVotingPower } from "../policies/rules/topology/region-voting-power";
import { networkFixture, runStackRule, topologyConfigMap } from "./support/policy";
import { projectRoot } from "./support/project";

/** The fixture network with these voting powers, validator by validator (val-1 .. val-8). */
function withPowers(powers: number[]): Network {
  const n = networkFixture();
  return { ...n, validators: n.validators.map((v, i) => ({ ...v, votingPower: powers[i] })) };
}

describe("rule region-voting-power", () => {
  const run = (network: Network, config = {}) =>
    runStackRule(regionVotingPower, [topologyConfigMap(network)], config);

  it("passes 4 regions at 25% each", async () => {
    expect((await run(networkFixture())).messages).to.deep.equal([]);
  });

  it("fails the 3-region 2/2/1 equal-power example, naming each region, its power and 40%", async () => {
    const network = loadNetwork(
      path.join(projectRoot(), "examples", "unsafe-3-region.yaml"),
      "examples/unsafe-3-region.yaml",
    );
    const r = await run(network);
    expect(r.messages).to.have.length(2);
    expect(r.messages[0]).to.include("aws/us-east-1 holds 2/5 (40%)").and.include("power 2 of 5");
    expect(r.messages[1]).to.include("gcp/europe-west1 holds 2/5 (40%)");
    expect(r.violations[0].urn).to.equal(topologyConfigMap(network).urn);
  });

  it("fails a region at exactly 1/3, passes when it is just below", async () => {
    // primary 4, dr 2, west 3, asia 3: primary holds 4/12, exactly 1/3.
    const exact = await run(withPowers([2, 2, 1, 1, 2, 1, 2, 1]));
    expect(exact.messages).to.have.length(1);
    expect(exact.messages[0]).to.include("aws/us-east-1 holds 1/3 (33.33%)");
    // asia 4 instead: primary 4/13, below 1/3.
    expect((await run(withPowers([2, 2, 1, 1, 2, 1, 2, 2]))).messages).to.deep.equal([]);
  });

  it("compares exactly on huge powers where floating point would round", async () => {
    const h = 2 ** 51;
    // primary holds x = 2^52 of 3x + 1: below 1/3, though 3x + 1 rounds to 3x in floating point.
    const below = withPowers([h, h, h, h, h, h - 1, 1, 1]);
    expect(Number(2 * h) / (6 * h + 1)).to.equal(1 / 3); // the float answer would be "at 1/3"
    expect((await run(below)).messages).to.deep.equal([]);
    // with a total of exactly 3x, primary and dr (2^52 each) are at 1/3: violations.
    const exact = await run(withPowers([h, h, h, h, h, h - 1, 1, 0]));
    expect(exact.messages.map((m) => m.split(" (")[0])).to.deep.equal([
      "aws/us-east-1 holds 1/3",
      "gcp/europe-west1 holds 1/3",
    ]);
  });

  it("honours maxFraction and reports a malformed one", async () => {
    expect((await run(networkFixture(), { maxFraction: "1/4" })).messages).to.have.length(4);
    expect((await run(networkFixture(), { maxFraction: "26%" })).messages).to.deep.equal([]);
    expect((await run(networkFixture(), { maxFraction: "5/4" })).messages[0]).to.include(
      "not a fraction",
    );
  });

  it("reports each distinct topology once, however many stacks carry it", async () => {
    const network = withPowers([2, 2, 1, 1, 2, 1, 2, 1]);
    const r = await runStackRule(regionVotingPower, [
      topologyConfigMap(network, "primary", "primary"),
      topologyConfigMap(network, "primary", "dr"),
    ]);
    expect(r.messages).to.have.length(1);
  });

  it("is not applicable to a stack without a topology ConfigMap", async () => {
    expect((await runStackRule(regionVotingPower, [])).notApplicable).to.include(
      "no drstack topology",
    );
  });
});
