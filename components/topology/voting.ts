/**
 * Exact voting-power math. Shares are rationals of bigints; "a region holds one third or more"
 * is decided by cross-multiplication, never by floating point.
 */
import type { Network } from "./model";

/** A non-negative rational `num/den`, always reduced, `den > 0`. */
export interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function fraction(num: bigint | number, den: bigint | number): Fraction {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d === 0n) throw new RangeError("fraction with zero denominator");
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { num: n / g, den: d / g };
}

/** Parses `1/3`, `0.3`, `33%` or `1` into an exact fraction; undefined when malformed. */
export function parseFraction(text: string): Fraction | undefined {
  const t = text.trim();
  let m = /^(\d+)\s*\/\s*(\d+)$/.exec(t);
  if (m) return BigInt(m[2]) === 0n ? undefined : fraction(BigInt(m[1]), BigInt(m[2]));
  m = /^(\d+)(?:\.(\d+))?(%?)$/.exec(t);
  if (!m) return undefined;
  const decimals = m[2] ?? "";
  let den = 10n ** BigInt(decimals.length);
  if (m[3] === "%") den *= 100n;
  return fraction(BigInt(m[1] + decimals), den);
}

/** Compares a/b with c/d: -1, 0 or 1. */
export function compare(a: Fraction, b: Fraction): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** True when `part/total >= limit`, exactly. A zero total holds nothing. */
export function atLeast(part: bigint, total: bigint, limit: Fraction): boolean {
  if (total <= 0n) return false;
  return part * limit.den >= limit.num * total;
}

export function formatFraction(f: Fraction): string {
  return f.den === 1n ? `${f.num}` : `${f.num}/${f.den}`;
}

/** Percent with `digits` decimals, rounded half up, computed on integers (`40%`, `33.33%`). */
export function formatPercent(f: Fraction, digits = 2): string {
  const scale = 10n ** BigInt(digits);
  const scaled = (f.num * 100n * scale * 2n + f.den) / (f.den * 2n);
  const whole = scaled / scale;
  const frac = (scaled % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}${frac ? `.${frac}` : ""}%`;
}

export interface RegionPower {
  /** `cloud/region`, so same-named regions of two clouds never merge. */
  readonly key: string;
  readonly cloud: string;
  readonly region: string;
  readonly power: bigint;
  readonly share: Fraction;
  readonly validators: readonly string[];
  readonly sites: readonly string[];
}

export interface PowerDistribution {
  readonly total: bigint;
  readonly regions: readonly RegionPower[];
}

/** Voting power per region, exact, sorted by power (largest first) then name. */
export function powerByRegion(network: Pick<Network, "sites" | "validators">): PowerDistribution {
  const siteRegion = new Map(network.sites.map((s) => [s.name, s]));
  const acc = new Map<
    string,
    { cloud: string; region: string; power: bigint; validators: string[]; sites: Set<string> }
  >();
  for (const site of network.sites) {
    const key = `${site.cloud}/${site.region}`;
    if (!acc.has(key))
      acc.set(key, {
        cloud: site.cloud,
        region: site.region,
        power: 0n,
        validators: [],
        sites: new Set(),
      });
    acc.get(key)!.sites.add(site.name);
  }
  let total = 0n;
  for (const v of network.validators) {
    const site = siteRegion.get(v.site);
    if (!site) continue;
    const entry = acc.get(`${site.cloud}/${site.region}`)!;
    const p = BigInt(v.votingPower);
    entry.power += p;
    entry.validators.push(v.name);
    total += p;
  }
  const regions = [...acc.entries()].map(([key, e]) => ({
    key,
    cloud: e.cloud,
    region: e.region,
    power: e.power,
    share: total > 0n ? fraction(e.power, total) : fraction(0, 1),
    validators: e.validators,
    sites: [...e.sites],
  }));
  regions.sort((a, b) =>
    a.power === b.power ? a.key.localeCompare(b.key) : a.power > b.power ? -1 : 1,
  );
  return { total, regions };
}

/** Regions whose share is at or above `limit` (default 1/3: losing one would halt consensus). */
export function regionsAtOrAbove(
  dist: PowerDistribution,
  limit: Fraction = fraction(1, 3),
): RegionPower[] {
  return dist.regions.filter((r) => atLeast(r.power, dist.total, limit));
}
