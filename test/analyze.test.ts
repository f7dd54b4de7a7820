import { expect } from "chai";
import * as fc from "fast-check";
import {
  analyze,
  type Analysis,
  analyzeResources,
  effectivePatroniTiming,
  factsFromResources,
  failureDomains,
  largestShares,
  patroniFailoverBound,
  powerBy,
  sentinelFailoverBound,
  type SiteFacts,
  worstCaseLost,
} from "../analyze";
import type { StackPlan } from "../planner/plan";
import { drillBounds } from "../analyze/bounds";
import { loadDrillSettings } from "../drill/settings";
import { loadNetwork } from "../components/topology/load";
import type { Network, Site } from "../components/topology/model";
import { compare } from "../components/topology/voting";
import * as path from "node:path";
import { planStack } from "../planner/plan";
import { planShipped, projectRoot } from "./support/project";

const resourcesOf = (plans: readonly StackPlan[]) =>
  plans.flatMap((p) =>
    p.resources.map((r) => ({ type: r.type, urn: r.urn, name: r.name, props: r.inputs })),
  );

function shippedNetwork(): Network {
  return loadNetwork(path.join(projectRoot(), "stacks", "network.yaml"), "stacks/network.yaml");
}

/** Plans of the shipped stacks with one stack replaced by a plan with extra config. */
async function withConfig(stack: string, config: Record<string, string>): Promise<StackPlan[]> {
  const plans = await planShipped();
  const changed = await planStack(stack, {
    projectDir: projectRoot(),
    configOverrides: config,
    stackOutputs: new Map(plans.map((p) => [p.stack, p.outputs])),
  });
  return plans.map((p) => (p.stack === stack ? changed : p));
}

describe("analyze: bounds", () => {
  it("applies Patroni >= 3.2's timeout floors as patroni/config.py does, and not before 3.2", () => {
    expect(effectivePatroniTiming({ ttl: 10, loopWait: 2, retryTimeout: 4 })).to.deep.include({
      ttl: 20,
      loopWait: 2,
      retryTimeout: 4,
      adjusted: true,
    });
    // loop_wait + 2 * retry_timeout > ttl: loop_wait lowered first ...
    expect(
      effectivePatroniTiming({ ttl: 20, loopWait: 10, retryTimeout: 6 }, "4.0.7"),
    ).to.deep.include({ ttl: 20, loopWait: 8, retryTimeout: 6 });
    // ... then, at loop_wait 1, retry_timeout = (ttl - 1) // 2.
    expect(
      effectivePatroniTiming({ ttl: 20, loopWait: 10, retryTimeout: 10 }, "3.2.0"),
    ).to.deep.include({ ttl: 20, loopWait: 1, retryTimeout: 9 });
    expect(
      effectivePatroniTiming({ ttl: 10, loopWait: 2, retryTimeout: 4 }, "3.0.2"),
    ).to.deep.include({ ttl: 10, adjusted: false });
    expect(
      patroniFailoverBound({ ttl: 10, loopWait: 2, retryTimeout: 4 }, "3.0.2").seconds,
    ).to.equal(16);
    expect(patroniFailoverBound({ ttl: 10, loopWait: 2, retryTimeout: 4 }).formula)
      .to.include("ttl 20 + loop_wait 2 + retry_timeout 4 = 26s")
      .and.include("floors");
  });

  it("bounds a Sentinel failover by down-after, Sentinel's periods and the election cap", () => {
    expect(
      sentinelFailoverBound({ downAfterMilliseconds: 5000, failoverTimeout: 30000 }).seconds,
    ).to.equal(18);
    // failover-timeout below the 10 s election timeout caps the election.
    expect(
      sentinelFailoverBound({ downAfterMilliseconds: 5000, failoverTimeout: 4000 }).seconds,
    ).to.equal(12);
  });

  it("loses the fullest zones first under maxSkew 1", () => {
    expect(worstCaseLost(3, 3, 1)).to.equal(1);
    expect(worstCaseLost(3, 3, 2)).to.equal(2);
    expect(worstCaseLost(5, 3, 1)).to.equal(2);
    expect(worstCaseLost(2, 3, 1)).to.equal(1);
    expect(worstCaseLost(2, 3, 3)).to.equal(2);
  });
});

describe("analyze: the shipped example", function () {
  this.timeout(300_000);
  let a: Analysis;
  before(async () => {
    a = analyzeResources(shippedNetwork(), resourcesOf(await planShipped()));
  });

  it("lists every zone, zone pair of a region, region, cloud and site", () => {
    const names = a.domains.map((d) => `${d.domain.kind} ${d.domain.name}`);
    expect(names).to.include.members([
      "zone aws/us-east-1a",
      "zone-pair aws/us-east-1a+us-east-1b",
      "zone-pair gcp/europe-west1-c+europe-west1-d",
      "region gcp/asia-southeast1",
      "cloud aws",
      "site west",
    ]);
    expect(names.filter((n) => n.startsWith("zone "))).to.have.length(10);
    expect(names.filter((n) => n.startsWith("zone-pair "))).to.have.length(3 + 3 + 1 + 1);
  });

  it("meets every declared objective and keeps a current copy; only provider-wide loss halts (a warning)", () => {
    expect(a.problems).to.deep.equal([]);
    expect(a.warnings).to.have.length(2);
    expect(a.warnings[0]).to.include("cloud aws").and.include("40/80");
    expect(a.largest.map((l) => `${l.kind} ${l.domain}`)).to.deep.equal([
      "zone aws/us-east-1a",
      "region aws/us-east-1",
      "cloud aws",
    ]);
  });

  it("reads the rendered settings: a zone loss fails over inside the primary, the region loss swaps to dr", () => {
    const zone = a.domains.find((d) => d.domain.name === "aws/us-east-1a")!;
    expect(zone.postgres.recovery).to.equal("patroni-failover");
    expect(zone.redis.recovery).to.equal("sentinel-failover");
    expect(zone.checks.map((c) => `${c.scenario} ${c.what} ${c.verdict}`)).to.deep.equal([
      "zone rto met",
      "zone rpo met",
    ]);
    const region = a.domains.find((d) => d.domain.name === "aws/us-east-1")!;
    expect(region.postgres).to.deep.include({
      recovery: "stack-swap",
      writer: "dr",
      currentCopy: true,
    });
    expect(region.redis.recovery).to.equal("stack-swap");
    // The site's own bucket is in the lost region: the replica trails by S3 RTC's 15 minutes.
    expect(region.backup.newestRestorable!.formula)
      .to.include("archive_timeout 60s")
      .and.include("bucket replication 15m");
    expect(region.checks.find((c) => c.what === "rpo")!.achievable!.formula).to.include(
      "PostgresReplicationLag threshold 60s",
    );
    const cloud = a.domains.find((d) => d.domain.kind === "cloud" && d.domain.name === "aws")!;
    expect(cloud.backup.surviving).to.deep.equal([]);
    expect(cloud.consensus.halts).to.equal(true);
  });

  it("a longer Patroni ttl misses the node objective and names the setting", async () => {
    const plans = await withConfig("primary", { "drstack:postgres": JSON.stringify({ ttl: 40 }) });
    const r = analyzeResources(shippedNetwork(), resourcesOf(plans));
    const node = r.global.find((c) => c.scenario === "node" && c.what === "rto")!;
    expect(node.verdict).to.equal("missed");
    expect(node.achievable!.formula).to.include("ttl 40 + loop_wait 2 + retry_timeout 4 = 46s");
    expect(node.fix).to.include("drstack:postgres ttl");
    expect(r.problems.join("\n")).to.include("node RTO 30s missed");
  });

  it("asynchronous replication in the primary misses the zero RPO", async () => {
    const plans = await withConfig("primary", {
      "drstack:postgres": JSON.stringify({ synchronousMode: false }),
    });
    const r = analyzeResources(shippedNetwork(), resourcesOf(plans));
    const zone = r.domains.find((d) => d.domain.name === "aws/us-east-1a")!;
    expect(zone.checks.find((c) => c.what === "rpo")).to.deep.include({
      verdict: "missed",
      fix: "set drstack:postgres synchronousMode: true",
    });
  });
});

describe("analyze: properties", function () {
  this.timeout(300_000);
  let network: Network;
  let facts: Map<string, SiteFacts>;
  before(async () => {
    network = shippedNetwork();
    facts = factsFromResources(network, resourcesOf(await planShipped()));
  });

  it("without a standby PostgreSQL site, losing the primary region leaves no current copy and no recovery", () => {
    const noStandby = new Map(facts);
    const dr = facts.get("dr")!;
    noStandby.set("dr", { ...dr, postgres: undefined });
    const a = analyze(network, noStandby);
    const region = a.domains.find((d) => d.domain.name === "aws/us-east-1")!;
    expect(region.postgres).to.deep.include({ recovery: "none", currentCopy: false });
    const rto = region.checks.find((c) => c.what === "rto")!;
    expect(rto.verdict).to.equal("missed");
    expect(rto.achievable!.seconds).to.equal(Number.POSITIVE_INFINITY);
    expect(a.problems).to.include(
      "region aws/us-east-1: no current copy of the PostgreSQL data survives (backups only)",
    );
    // Two zones of the primary: the DCS loses its majority; the replicas are a current copy, but
    // nothing can take writes without an operator.
    const pair = a.domains.find((d) => d.domain.name === "aws/us-east-1a+us-east-1b")!;
    expect(pair.postgres).to.deep.include({ recovery: "none", currentCopy: true });
    expect(pair.checks.find((c) => c.what === "rto")!.verdict).to.equal("missed");
  });

  const metKeys = (a: Analysis) =>
    new Set([
      ...a.domains.flatMap((d) =>
        d.checks
          .filter((c) => c.verdict === "met")
          .map((c) => `${d.domain.kind} ${d.domain.name} ${c.scenario} ${c.what}`),
      ),
      ...a.global.filter((c) => c.verdict === "met").map((c) => `${c.scenario} ${c.what}`),
    ]);
  const missedKeys = (a: Analysis) =>
    new Set([
      ...a.domains.flatMap((d) =>
        d.checks
          .filter((c) => c.verdict === "missed")
          .map((c) => `${d.domain.kind} ${d.domain.name} ${c.scenario} ${c.what}`),
      ),
      ...a.global.filter((c) => c.verdict === "missed").map((c) => `${c.scenario} ${c.what}`),
    ]);

  /** A zone added to a site: the rendered node affinity then lists it too. */
  function addZone(
    n: Network,
    f: Map<string, SiteFacts>,
    siteIndex: number,
  ): [Network, Map<string, SiteFacts>] {
    const site = n.sites[siteIndex % n.sites.length];
    const letter = "abcdefghij"
      .split("")
      .find((l) => !site.zones.some((z) => z.endsWith(l) && z.length === site.zones[0].length))!;
    const zone = site.zones[0].slice(0, -1) + letter;
    const sites = n.sites.map((s) =>
      s.name === site.name ? { ...s, zones: [...s.zones, zone] } : s,
    );
    const out = new Map(f);
    const sf = f.get(site.name);
    if (sf?.postgres)
      out.set(site.name, {
        ...sf,
        postgres: { ...sf.postgres, zones: [...sf.postgres.zones, zone] },
      });
    return [{ ...n, sites }, out];
  }

  function addSite(n: Network, i: number, power: number): Network {
    const region = `ap-south-${i + 1}`;
    const site: Site = {
      name: `extra-${i}`,
      role: "standby",
      cloud: "aws",
      region,
      zones: [`${region}a`, `${region}b`],
      kubernetes: {},
      services: ["validators"],
    };
    return {
      ...n,
      sites: [...n.sites, site],
      validators: [
        ...n.validators,
        {
          name: `val-extra-${i}`,
          site: site.name,
          zone: `${region}a`,
          votingPower: power,
          parties: [],
        },
      ],
    };
  }

  it("adding a zone or a site never turns a met objective into a missed one", () => {
    const base = analyze(network, facts);
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ zone: fc.nat(8) }),
            fc.record({ site: fc.integer({ min: 1, max: 20 }) }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (changes) => {
          let n = network;
          let f = facts;
          changes.forEach((c, i) => {
            if ("zone" in c) [n, f] = addZone(n, f, c.zone);
            else n = addSite(n, i, c.site);
          });
          const after = analyze(n, f);
          const missed = missedKeys(after);
          for (const k of metKeys(base)) expect(missed.has(k), k).to.equal(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("moving voting power from the largest region to the smallest never increases the largest region share", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 8, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (powers, t) => {
          const n: Network = {
            ...network,
            validators: network.validators.map((v, i) => ({ ...v, votingPower: powers[i] })),
          };
          const regions = powerBy(n, "region");
          const largest = regions[0];
          const smallest = regions[regions.length - 1];
          const giver = n.validators.find(
            (v) => largest.validators.includes(v.name) && v.votingPower > 1,
          );
          const taker = n.validators.find((v) => smallest.validators.includes(v.name));
          if (!giver || !taker || largest.domain === smallest.domain) return;
          // Move at most the gap between the two regions (more would only swap their roles), and
          // leave the giver at least 1.
          const gap = Number(largest.power - smallest.power);
          const delta = Math.min(Math.floor(gap * t), giver.votingPower - 1);
          const moved: Network = {
            ...n,
            validators: n.validators.map((v) =>
              v.name === giver.name
                ? { ...v, votingPower: v.votingPower - delta }
                : v.name === taker.name
                  ? { ...v, votingPower: v.votingPower + delta }
                  : v,
            ),
          };
          const before = largestShares(n).find((l) => l.kind === "region")!.share;
          const after = largestShares(moved).find((l) => l.kind === "region")!.share;
          expect(compare(after, before)).to.be.at.most(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a lost domain takes exactly its validators' power (consensus halts at >= 1/3, exactly)", () => {
    for (const d of analyze(network, facts).domains) {
      const lost = d.consensus.lost;
      expect(d.consensus.halts).to.equal(lost * 3n >= d.consensus.total);
      expect(d.consensus.producesBlocks).to.equal(
        (d.consensus.total - lost) * 3n > d.consensus.total * 2n,
      );
    }
    expect(failureDomains(network)).to.have.length(10 + 8 + 4 + 2 + 4);
  });
});

describe("analyze: bounds for the drill", () => {
  it("drillBounds takes the drill's settings and the Patroni it runs", () => {
    const s = loadDrillSettings(projectRoot());
    const b = drillBounds(s, "3.0.2");
    const pg = s.primaryPostgres;
    expect(b.node.seconds).to.equal(pg.ttl + pg.loopWait + pg.retryTimeout);
    expect(b.redis.formula).to.include(`down-after ${s.redis.downAfterMilliseconds}ms`);
    expect(b.region.formula).to.include("decision 0s (assumed)");
    // Patroni 4.0.7 (Debian 13) raises a ttl below 20.
    expect(drillBounds(s, "4.0.7").node.seconds).to.equal(
      Math.max(pg.ttl, 20) + pg.loopWait + pg.retryTimeout,
    );
  });
});

describe("analyze: the drill's recorded measurements fall inside the bounds", () => {
  // docs/drill.md "Measured here": bench/drill.ts, 5 runs each, Patroni 3.0.2 (slowest run).
  const recorded = [
    { what: "node", pg: { ttl: 10, loopWait: 2, retryTimeout: 4 }, worst: 9.73 },
    { what: "node", pg: { ttl: 5, loopWait: 1, retryTimeout: 2 }, worst: 5.46 },
    { what: "redis", redis: { downAfterMilliseconds: 5000, failoverTimeout: 30000 }, worst: 6.33 },
    { what: "redis", redis: { downAfterMilliseconds: 2000, failoverTimeout: 30000 }, worst: 3.35 },
    { what: "region", pg: { ttl: 10, loopWait: 2, retryTimeout: 4 }, worst: 0.57 },
  ] as const;

  for (const r of recorded)
    it(`${r.what}: measured ${r.worst}s <= bound`, () => {
      const pg = "pg" in r ? r.pg : { ttl: 10, loopWait: 2, retryTimeout: 4 };
      const redis =
        "redis" in r ? r.redis : { downAfterMilliseconds: 5000, failoverTimeout: 30000 };
      const b = drillBounds({ primaryPostgres: pg, standbyPostgres: pg, redis }, "3.0.2")[r.what];
      expect(r.worst, b.formula).to.be.at.most(b.seconds);
    });
});
