import { expect } from "chai";
import fc from "fast-check";
import type { Network, Site, Validator } from "../components/topology/model";
import {
  atLeast,
  compare,
  formatPercent,
  fraction,
  parseFraction,
  powerByRegion,
  regionsAtOrAbove,
} from "../components/topology/voting";

const THIRD = fraction(1, 3);

/** A network with one site per region and the given validator powers per region. */
function network(powers: bigint[][]): Pick<Network, "sites" | "validators"> {
  const sites: Site[] = powers.map((_, i) => ({
    name: `s${i}`,
    role: i === 0 ? "primary" : "standby",
    cloud: i % 2 ? "gcp" : "aws",
    region: `r${i}`,
    zones: [`r${i}a`, `r${i}b`],
    kubernetes: {},
    services: ["validators"],
  }));
  const validators: Validator[] = powers.flatMap((ps, i) =>
    ps.map((p, j) => ({
      name: `v${i}-${j}`,
      site: `s${i}`,
      zone: `r${i}a`,
      votingPower: Number(p),
      parties: [],
    })),
  );
  return { sites, validators };
}

const power = fc.bigInt({ min: 1n, max: 1_000_000_000n });
const regions = fc.array(fc.array(power, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 8,
});

describe("voting power math (exact)", () => {
  it("decides 'one third or more' exactly as 3 * part >= total", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        (part, total) => {
          expect(atLeast(part, total, THIRD)).to.equal(3n * part >= total);
        },
      ),
    );
  });

  it("treats a region at exactly 1/3 as at the limit, and one unit less as below", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 20n }), (k) => {
        expect(atLeast(k, 3n * k, THIRD)).to.equal(true);
        expect(atLeast(k - 1n, 3n * k, THIRD)).to.equal(false);
        // Where floating point rounds, exact math does not: k/(3k+1) is always below 1/3.
        expect(atLeast(k, 3n * k + 1n, THIRD)).to.equal(false);
      }),
    );
  });

  it("gives region shares that sum to exactly 1", () => {
    fc.assert(
      fc.property(regions, (ps) => {
        const dist = powerByRegion(network(ps));
        let num = 0n;
        let den = 1n;
        for (const r of dist.regions) {
          num = num * r.share.den + r.share.num * den;
          den *= r.share.den;
        }
        expect(num).to.equal(den);
        expect(dist.total).to.equal(ps.flat().reduce((a, b) => a + b, 0n));
      }),
    );
  });

  it("does not change its verdict when every power is scaled by the same factor", () => {
    fc.assert(
      fc.property(regions, fc.bigInt({ min: 2n, max: 1000n }), (ps, k) => {
        const a = regionsAtOrAbove(powerByRegion(network(ps))).map((r) => r.key);
        const b = regionsAtOrAbove(powerByRegion(network(ps.map((r) => r.map((p) => p * k))))).map(
          (r) => r.key,
        );
        expect(b).to.deep.equal(a);
      }),
    );
  });

  it("always finds a region at or above 1/3 when there are at most 3 regions", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(power, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        (ps) => {
          expect(regionsAtOrAbove(powerByRegion(network(ps)))).to.not.be.empty;
        },
      ),
    );
  });

  it("flags a region exactly when its power times 3 reaches the total", () => {
    fc.assert(
      fc.property(regions, (ps) => {
        const dist = powerByRegion(network(ps));
        const flagged = new Set(regionsAtOrAbove(dist).map((r) => r.key));
        for (const r of dist.regions)
          expect(flagged.has(r.key)).to.equal(3n * r.power >= dist.total);
      }),
    );
  });

  it("computes the 2/2/1 example: two regions at 2/5 = 40%", () => {
    const dist = powerByRegion(network([[1n, 1n], [1n, 1n], [1n]]));
    expect(dist.regions.map((r) => `${r.share.num}/${r.share.den}`)).to.deep.equal([
      "2/5",
      "2/5",
      "1/5",
    ]);
    expect(dist.regions.map((r) => formatPercent(r.share))).to.deep.equal(["40%", "40%", "20%"]);
    expect(regionsAtOrAbove(dist).map((r) => r.key)).to.deep.equal(["aws/r0", "gcp/r1"]);
  });

  it("passes four equal regions at 25% each", () => {
    const dist = powerByRegion(
      network([
        [10n, 10n],
        [10n, 10n],
        [10n, 10n],
        [10n, 10n],
      ]),
    );
    expect(dist.regions.map((r) => formatPercent(r.share))).to.deep.equal([
      "25%",
      "25%",
      "25%",
      "25%",
    ]);
    expect(regionsAtOrAbove(dist)).to.be.empty;
  });

  it("formats percents by integer rounding, close to the real value", () => {
    expect(formatPercent(fraction(1, 3))).to.equal("33.33%");
    expect(formatPercent(fraction(2, 3))).to.equal("66.67%");
    expect(formatPercent(fraction(1, 8))).to.equal("12.5%");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (a, b) => {
          const shown = Number(formatPercent(fraction(a, b)).slice(0, -1));
          expect(Math.abs(shown - (100 * a) / b)).to.be.at.most(0.005 + 1e-9);
        },
      ),
    );
  });

  it("parses limits exactly and compares fractions by cross-multiplication", () => {
    expect(parseFraction("1/3")).to.deep.equal(fraction(1, 3));
    expect(parseFraction("33%")).to.deep.equal(fraction(33, 100));
    expect(parseFraction("0.25")).to.deep.equal(fraction(1, 4));
    expect(parseFraction("1/0")).to.equal(undefined);
    expect(parseFraction("abc")).to.equal(undefined);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        (a, b, c, d) => {
          const expected = a * d < c * b ? -1 : a * d > c * b ? 1 : 0;
          expect(compare(fraction(a, b), fraction(c, d))).to.equal(expected);
        },
      ),
    );
  });
});
