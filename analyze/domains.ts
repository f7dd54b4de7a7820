/**
 * Failure domains of a network and the consensus math over them: every zone, region, cloud and
 * site, and each pair of zones in one region; the voting power each takes away, exactly
 * (components/topology/voting.ts fractions, never floating point). Pure.
 */
import type { Network, Site } from "../components/topology/model";
import { atLeast, type Fraction, fraction } from "../components/topology/voting";

export const DOMAIN_KINDS = ["zone", "zone-pair", "region", "cloud", "site"] as const;
export type DomainKind = (typeof DOMAIN_KINDS)[number];

export interface Domain {
  readonly kind: DomainKind;
  /** `aws/us-east-1a`, `aws/us-east-1a+us-east-1b`, `aws/us-east-1`, `aws`, `primary`. */
  readonly name: string;
  /** Zones lost, as `cloud/zone`. A lost site or region loses all of its zones. */
  readonly zones: ReadonlySet<string>;
  /** Sites lost entirely (their cluster, control plane included). */
  readonly sites: ReadonlySet<string>;
  /** Regions lost entirely, as `cloud/region` (their object stores too). */
  readonly regions: ReadonlySet<string>;
}

const zoneKey = (s: Site, z: string) => `${s.cloud}/${z}`;
const regionKey = (s: Site) => `${s.cloud}/${s.region}`;

function whole(
  network: Network,
  kind: DomainKind,
  name: string,
  pick: (s: Site) => boolean,
): Domain {
  const sites = network.sites.filter(pick);
  return {
    kind,
    name,
    zones: new Set(sites.flatMap((s) => s.zones.map((z) => zoneKey(s, z)))),
    sites: new Set(sites.map((s) => s.name)),
    regions: kind === "site" ? new Set() : new Set(sites.map(regionKey)),
  };
}

/** Every failure domain of the network, in a stable order. */
export function failureDomains(network: Network): Domain[] {
  const out: Domain[] = [];
  const zonesByRegion = new Map<string, string[]>();
  for (const s of network.sites) {
    const list = zonesByRegion.get(regionKey(s)) ?? [];
    for (const z of s.zones) if (!list.includes(z)) list.push(z);
    zonesByRegion.set(regionKey(s), list);
  }
  const cloudOf = (rk: string) => rk.split("/")[0];
  for (const [rk, zones] of zonesByRegion)
    for (const z of zones)
      out.push({
        kind: "zone",
        name: `${cloudOf(rk)}/${z}`,
        zones: new Set([`${cloudOf(rk)}/${z}`]),
        sites: new Set(),
        regions: new Set(),
      });
  for (const [rk, zones] of zonesByRegion)
    for (let i = 0; i < zones.length; i++)
      for (let j = i + 1; j < zones.length; j++)
        out.push({
          kind: "zone-pair",
          name: `${cloudOf(rk)}/${zones[i]}+${zones[j]}`,
          zones: new Set([`${cloudOf(rk)}/${zones[i]}`, `${cloudOf(rk)}/${zones[j]}`]),
          sites: new Set(),
          regions: new Set(),
        });
  for (const rk of zonesByRegion.keys())
    out.push(whole(network, "region", rk, (s) => regionKey(s) === rk));
  for (const cloud of [...new Set(network.sites.map((s) => s.cloud))])
    out.push(whole(network, "cloud", cloud, (s) => s.cloud === cloud));
  for (const s of network.sites) out.push(whole(network, "site", s.name, (x) => x.name === s.name));
  return out;
}

/** Zones of `site` the domain takes (all of them when the site is lost). */
export function lostZonesOf(domain: Domain, site: Site): string[] {
  if (domain.sites.has(site.name)) return [...site.zones];
  return site.zones.filter((z) => domain.zones.has(zoneKey(site, z)));
}

/**
 * Members lost in the worst case when `n` members are spread over `zones` with maxSkew 1
 * (`topologySpreadConstraints`, DoNotSchedule) and `lost` of those zones fail: the lost zones are
 * the fullest ones.
 */
export function worstCaseLost(n: number, zones: number, lost: number): number {
  if (zones <= 0 || lost <= 0) return 0;
  if (lost >= zones) return n;
  const base = Math.floor(n / zones);
  const fuller = n % zones;
  return Math.min(lost, fuller) * (base + 1) + Math.max(0, lost - fuller) * base;
}

export interface Consensus {
  readonly total: bigint;
  readonly lost: bigint;
  readonly remaining: bigint;
  readonly lostShare: Fraction;
  /** More than 2/3 of the voting power stays online: blocks keep being produced. */
  readonly producesBlocks: boolean;
  /** The domain takes 1/3 or more: its loss halts the chain. */
  readonly halts: boolean;
  readonly lostValidators: readonly string[];
}

/** Validators a domain takes: those of lost sites and those in lost zones. */
export function consensusAfter(network: Network, domain: Domain): Consensus {
  const siteOf = new Map(network.sites.map((s) => [s.name, s]));
  let total = 0n;
  let lost = 0n;
  const names: string[] = [];
  for (const v of network.validators) {
    const p = BigInt(v.votingPower);
    total += p;
    const site = siteOf.get(v.site);
    if (!site) continue;
    if (domain.sites.has(site.name) || domain.zones.has(zoneKey(site, v.zone))) {
      lost += p;
      names.push(v.name);
    }
  }
  const remaining = total - lost;
  return {
    total,
    lost,
    remaining,
    lostShare: total > 0n ? fraction(lost, total) : fraction(0, 1),
    producesBlocks: total > 0n && remaining * 3n > total * 2n,
    halts: atLeast(lost, total, fraction(1, 3)),
    lostValidators: names,
  };
}

export interface DomainPower {
  readonly kind: "zone" | "region" | "cloud";
  readonly domain: string;
  readonly power: bigint;
  readonly share: Fraction;
  readonly validators: readonly string[];
}

/** Voting power per zone, region or cloud, exact, largest first (ties by name). */
export function powerBy(network: Network, kind: "zone" | "region" | "cloud"): DomainPower[] {
  const siteOf = new Map(network.sites.map((s) => [s.name, s]));
  const acc = new Map<string, { power: bigint; validators: string[] }>();
  const keyOf = (s: Site, zone: string) =>
    kind === "zone" ? zoneKey(s, zone) : kind === "region" ? regionKey(s) : s.cloud;
  if (kind !== "zone")
    for (const s of network.sites)
      acc.set(keyOf(s, ""), acc.get(keyOf(s, "")) ?? { power: 0n, validators: [] });
  let total = 0n;
  for (const v of network.validators) {
    const s = siteOf.get(v.site);
    if (!s) continue;
    const p = BigInt(v.votingPower);
    total += p;
    const e = acc.get(keyOf(s, v.zone)) ?? { power: 0n, validators: [] };
    e.power += p;
    e.validators.push(v.name);
    acc.set(keyOf(s, v.zone), e);
  }
  return [...acc]
    .map(([domain, e]) => ({
      kind,
      domain,
      power: e.power,
      share: total > 0n ? fraction(e.power, total) : fraction(0, 1),
      validators: e.validators,
    }))
    .sort((a, b) =>
      a.power === b.power ? a.domain.localeCompare(b.domain) : a.power > b.power ? -1 : 1,
    );
}

export interface LargestShare {
  readonly kind: "zone" | "region" | "cloud";
  readonly domain: string;
  readonly power: bigint;
  readonly share: Fraction;
}

/** The largest single zone, region and cloud by voting power (exact; ties by name). */
export function largestShares(network: Network): LargestShare[] {
  return (["zone", "region", "cloud"] as const).map((kind) => {
    const top = powerBy(network, kind)[0];
    return top
      ? { kind, domain: top.domain, power: top.power, share: top.share }
      : { kind, domain: "(none)", power: 0n, share: fraction(0, 1) };
  });
}
