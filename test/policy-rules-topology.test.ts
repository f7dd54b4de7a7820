import { expect } from "chai";
import * as fc from "fast-check";
import * as path from "node:path";
import { loadNetwork } from "../components/topology/load";
import type { Network } from "../components/topology/model";
import { rule as minZones } from "../policies/rules/topology/min-zones-per-region";
import { rule as partyHosting } from "../policies/rules/topology/party-hosting";
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

describe("rule min-zones-per-region", () => {
  it("passes regions with two zones, fails one with a single zone, honours minZones", async () => {
    const ok = networkFixture();
    expect((await runStackRule(minZones, [topologyConfigMap(ok)])).messages).to.deep.equal([]);
    const one = {
      ...ok,
      sites: ok.sites.map((s) => (s.name === "west" ? { ...s, zones: ["us-west-2a"] } : s)),
    };
    const r = await runStackRule(minZones, [topologyConfigMap(one)]);
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("aws/us-west-2 (sites west) spans 1 zone (us-west-2a)");
    expect(
      (await runStackRule(minZones, [topologyConfigMap(ok)], { minZones: 3 })).messages,
    ).to.have.length(4);
  });

  it("counts zones of every site in a region together", async () => {
    const n = networkFixture();
    const sites = [
      ...n.sites.map((s) => (s.name === "west" ? { ...s, zones: ["us-west-2a"] } : s)),
      { ...n.sites[2], name: "west2", zones: ["us-west-2b"] },
    ];
    expect(
      (await runStackRule(minZones, [topologyConfigMap({ ...n, sites })])).messages,
    ).to.deep.equal([]);
  });
});

describe("rule party-hosting", () => {
  const withParty = (threshold: number, hosts: string[]): Network => {
    const n = networkFixture();
    return {
      ...n,
      parties: [{ name: "operator", threshold }],
      validators: n.validators.map((v) => ({
        ...v,
        parties: hosts.includes(v.name) ? ["operator"] : [],
      })),
    };
  };

  it("passes a party on 2 validators in 2 regions with threshold 1", async () => {
    expect(
      (await runStackRule(partyHosting, [topologyConfigMap(withParty(1, ["val-1", "val-3"]))]))
        .messages,
    ).to.deep.equal([]);
  });

  it("fails a party on a single validator", async () => {
    const r = await runStackRule(partyHosting, [topologyConfigMap(withParty(1, ["val-1"]))]);
    expect(r.messages[0]).to.include("party operator is hosted on 1 validator (val-1); at least 2");
  });

  it("fails hosts in a single region", async () => {
    const r = await runStackRule(partyHosting, [
      topologyConfigMap(withParty(1, ["val-1", "val-2"])),
    ]);
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("hosted only in aws/us-east-1");
  });

  it("fails a threshold above the hosts, and one that cannot survive a host failure", async () => {
    expect(
      (await runStackRule(partyHosting, [topologyConfigMap(withParty(3, ["val-1", "val-3"]))]))
        .messages[0],
    ).to.include("can never confirm");
    expect(
      (await runStackRule(partyHosting, [topologyConfigMap(withParty(2, ["val-1", "val-3"]))]))
        .messages[0],
    ).to.include("with 1 host down it cannot confirm");
    expect(
      (
        await runStackRule(partyHosting, [topologyConfigMap(withParty(2, ["val-1", "val-3"]))], {
          toleratedHostFailures: 0,
        })
      ).messages,
    ).to.deep.equal([]);
  });

  it("fails a validator hosting an undeclared party", async () => {
    const n = withParty(1, ["val-1", "val-3"]);
    const bad = {
      ...n,
      validators: n.validators.map((v) => (v.name === "val-5" ? { ...v, parties: ["ghost"] } : v)),
    };
    expect((await runStackRule(partyHosting, [topologyConfigMap(bad)])).messages[0]).to.include(
      "hosts party ghost, which is not declared",
    );
  });
});

describe("rule region-voting-power (property)", () => {
  it("flags exactly the regions whose power p satisfies 3p >= total, for random networks", async () => {
    const regions = [
      "us-east-1",
      "us-west-2",
      "eu-west-1",
      "ap-south-1",
      "ca-central-1",
      "sa-east-1",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (powers) => {
          const sites = powers.map((_, i) => ({
            name: `s${i}`,
            role: i === 0 ? "primary" : "standby",
            cloud: "aws",
            region: regions[i],
            zones: [`${regions[i]}a`, `${regions[i]}b`],
            kubernetes: {},
            services: ["validators"],
          }));
          const validators = powers.flatMap((ps, i) =>
            ps.map((p, j) => ({
              name: `v${i}-${j}`,
              site: `s${i}`,
              zone: `${regions[i]}a`,
              votingPower: p,
              parties: [],
            })),
          );
          const network = {
            name: "prop",
            objectives: {},
            parties: [],
            sites,
            validators,
          } as unknown as Network;
          const total = powers.flat().reduce((a, b) => a + BigInt(b), 0n);
          const expected = powers
            .map((ps, i) => [regions[i], ps.reduce((a, b) => a + BigInt(b), 0n)] as const)
            .filter(([, p]) => 3n * p >= total)
            .map(([r]) => `aws/${r}`);
          const got = (
            await runStackRule(regionVotingPower, [topologyConfigMap(network)])
          ).messages.map((m) => m.split(" holds")[0]);
          expect(got.sort()).to.deep.equal(expected.sort());
        },
      ),
      { numRuns: 200 },
    );
  });
});
