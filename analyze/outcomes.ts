/**
 * What a domain's loss leaves of each data service: which site serves PostgreSQL writes and how it
 * gets there, Redis failover, the backup copies and the newest restorable point. Pure.
 */
import { majority } from "../components/redis/settings";
import { formatDuration, type Network, primarySite, type Site } from "../components/topology/model";
import { cronGap } from "../components/util/cron";
import type { Bound } from "./bounds";
import { type Domain, lostZonesOf, worstCaseLost } from "./domains";
import type { PostgresFacts, SiteFacts } from "./facts";

export interface PostgresOutcome {
  /** The site that serves writes afterwards (undefined: none can). */
  readonly writer?: string;
  /** `unaffected`, `patroni-failover`, `stack-swap`, `none`. */
  readonly recovery: "unaffected" | "patroni-failover" | "stack-swap" | "none";
  /** Surviving members per site running PostgreSQL. */
  readonly survivors: Readonly<Record<string, number>>;
  readonly detail: string;
  /** A surviving site holds a current copy (a member or a standby cluster, not only a backup). */
  readonly currentCopy: boolean;
}

export interface RedisOutcome {
  readonly recovery: "unaffected" | "sentinel-failover" | "stack-swap" | "none";
  readonly detail: string;
}

export interface BackupOutcome {
  /** Copies (bucket names) outside the domain. */
  readonly surviving: readonly string[];
  /** The encryption keys of the backups survive (where, in words). */
  readonly keys: string;
  /** Newest restorable point: at most this old, with its formula; undefined when nothing survives. */
  readonly newestRestorable?: Bound;
}

export const runs = (s: Site, svc: string) => s.services.includes(svc as never);

/** DCS (the site cluster's control plane, one member per zone of the site) keeps a majority. */
function dcsQuorum(site: Site, lostZones: number): boolean {
  return site.zones.length - lostZones > site.zones.length / 2;
}

function membersLost(site: Site, pg: PostgresFacts, domain: Domain): number {
  if (domain.sites.has(site.name)) return pg.members;
  const zones = pg.zones.length > 0 ? pg.zones : site.zones;
  const lost = zones.filter((z) => domain.zones.has(`${site.cloud}/${z}`)).length;
  return worstCaseLost(pg.members, zones.length, lost);
}

export function backupOutcome(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  domain: Domain,
): BackupOutcome {
  const writer = primarySite(network);
  const f = facts.get(writer.name);
  const b = f?.backup;
  const cipher =
    "pgBackRest cipher passphrase: a Pulumi secret in the credentials site's stack state (outside every site)";
  const keys = b?.keyBackup
    ? `${cipher}; validator keys: the encrypted key backup in the same buckets`
    : `${cipher}; validator keys: NOT backed up (set drstack:backup.keyRecipient)`;
  if (!b) return { surviving: [], keys };
  // A copy is lost with its cloud, or when every region it stores data in is lost (a
  // multi-region location such as "us" outlives any one region).
  const lostCopy = (c: { cloud: string; regions: readonly string[] }) =>
    domain.kind === "cloud"
      ? c.cloud === domain.name
      : c.regions.every((r) => domain.regions.has(`${c.cloud}/${r}`));
  const surviving = b.copies.filter((c) => !lostCopy(c));
  if (surviving.length === 0) return { surviving: [], keys };
  const own = surviving.some((c) => c.regions.includes(writer.region) && c.cloud === writer.cloud);
  const archive = f?.postgres?.archiveTimeoutSeconds;
  const incr = b.schedules["pg-incr"];
  const incrGap = incr ? cronGap(incr) : undefined;
  const base: Bound | undefined =
    archive !== undefined && archive > 0
      ? { seconds: archive, formula: `WAL archiving: archive_timeout ${archive}s` }
      : incrGap?.ok
        ? {
            seconds: incrGap.gapSeconds,
            formula: `pg-incr schedule ${JSON.stringify(incr)}: ${formatDuration(incrGap.gapSeconds)} between backups`,
          }
        : undefined;
  if (!base) return { surviving: surviving.map((c) => c.name), keys };
  if (own) return { surviving: surviving.map((c) => c.name), keys, newestRestorable: base };
  const repl = b.replicationSeconds;
  if (repl === undefined) return { surviving: surviving.map((c) => c.name), keys };
  const seconds = base.seconds + repl;
  return {
    surviving: surviving.map((c) => c.name),
    keys,
    newestRestorable: {
      seconds,
      formula: `${base.formula} + bucket replication ${formatDuration(repl)} = ${formatDuration(seconds)}`,
    },
  };
}

export function postgresOutcome(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  domain: Domain,
): PostgresOutcome {
  const writer = primarySite(network);
  const survivors: Record<string, number> = {};
  const pgSites = network.sites.filter((s) => runs(s, "postgres"));
  for (const s of pgSites) {
    const pg = facts.get(s.name)?.postgres;
    if (pg) survivors[s.name] = pg.members - membersLost(s, pg, domain);
  }
  const currentCopy = Object.values(survivors).some((n) => n > 0);
  const wpg = facts.get(writer.name)?.postgres;
  if (!wpg)
    return {
      recovery: "none",
      survivors,
      currentCopy,
      detail: `no Patroni cluster rendered for ${writer.name}`,
    };
  const lost = membersLost(writer, wpg, domain);
  if (lost === 0)
    return {
      writer: writer.name,
      recovery: "unaffected",
      survivors,
      currentCopy,
      detail: `${writer.name} keeps all ${wpg.members} members`,
    };
  const lostZones = lostZonesOf(domain, writer).length;
  const quorum = !domain.sites.has(writer.name) && dcsQuorum(writer, lostZones);
  const left = wpg.members - lost;
  // In synchronous mode only a synchronous standby may be promoted: the worst case loses the
  // leader and its synchronous standbys first.
  const syncOk = !wpg.synchronousMode || lost <= wpg.synchronousNodeCount;
  if (quorum && left > 0 && syncOk)
    return {
      writer: writer.name,
      recovery: "patroni-failover",
      survivors,
      currentCopy,
      detail: `${writer.name}: ${left}/${wpg.members} members left, DCS quorum ${writer.zones.length - lostZones}/${writer.zones.length} zones${wpg.synchronousMode ? `, a synchronous standby survives (lost ${lost} <= synchronous_node_count ${wpg.synchronousNodeCount})` : ""}: Patroni elects a new leader`,
    };
  const why = !quorum
    ? domain.sites.has(writer.name)
      ? `${writer.name} is lost`
      : `${writer.name}'s DCS loses its majority (${writer.zones.length - lostZones}/${writer.zones.length} zones)`
    : left === 0
      ? `no member of ${writer.name} survives`
      : `synchronous mode: the leader and its synchronous standby may both be lost (${lost} members > synchronous_node_count ${wpg.synchronousNodeCount})`;
  const target = pgSites.find((s) => {
    if (s.name === writer.name) return false;
    const pg = facts.get(s.name)?.postgres;
    if (!pg?.standbyCluster || (survivors[s.name] ?? 0) <= 0) return false;
    return !domain.sites.has(s.name) && dcsQuorum(s, lostZonesOf(domain, s).length);
  });
  if (!target)
    return {
      recovery: "none",
      survivors,
      currentCopy,
      detail: `${why}; no standby site with a surviving current copy can take over`,
    };
  return {
    writer: target.name,
    recovery: "stack-swap",
    survivors,
    currentCopy,
    detail: `${why}; the stack swap promotes ${target.name} (standby cluster, ${survivors[target.name]} members)`,
  };
}

/** Redis replicates asynchronously: what a promotion may lose (reported, not judged). */
function redisLoss(maxLag: number | undefined): string {
  return maxLag === undefined
    ? "; asynchronous replication without min-replicas-to-write: the loss is unbounded by settings"
    : `; asynchronous replication: writes of the last <= ${maxLag}s may be lost (min-replicas-max-lag)`;
}

export function redisOutcome(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  domain: Domain,
): RedisOutcome {
  const writer = primarySite(network);
  const r = facts.get(writer.name)?.redis;
  if (!runs(writer, "redis") || !r)
    return { recovery: "unaffected", detail: "no Redis in the primary site" };
  const lostZones = lostZonesOf(domain, writer).length;
  if (lostZones === 0)
    return {
      recovery: "unaffected",
      detail: `${writer.name} keeps its ${r.servers} Redis servers and ${r.sentinels} sentinels`,
    };
  const zones = writer.zones.length;
  const lostServers = domain.sites.has(writer.name)
    ? r.servers
    : worstCaseLost(r.servers, zones, lostZones);
  const lostSentinels = domain.sites.has(writer.name)
    ? r.sentinels
    : worstCaseLost(r.sentinels, zones, lostZones);
  const sentinelsLeft = r.sentinels - lostSentinels;
  const need = Math.max(majority(r.sentinels), r.quorum);
  if (sentinelsLeft >= need && r.servers - lostServers >= 1)
    return {
      recovery: lostServers === 0 ? "unaffected" : "sentinel-failover",
      detail: `${sentinelsLeft}/${r.sentinels} sentinels (need ${need}: majority and quorum ${r.quorum}), ${r.servers - lostServers}/${r.servers} servers left: a replica is promoted${lostServers > 0 ? redisLoss(r.minReplicasMaxLag) : ""}`,
    };
  const standby = network.sites.find(
    (s) =>
      s.name !== writer.name &&
      runs(s, "redis") &&
      facts.get(s.name)?.redis?.replicaOfOtherSite &&
      !domain.sites.has(s.name) &&
      lostZonesOf(domain, s).length < s.zones.length,
  );
  const why =
    sentinelsLeft < need
      ? `${sentinelsLeft}/${r.sentinels} sentinels left, ${need} needed`
      : "no Redis server survives";
  return standby
    ? {
        recovery: "stack-swap",
        detail: `${why}; the stack swap re-points Redis to ${standby.name} (a replica of the primary)`,
      }
    : { recovery: "none", detail: `${why}; no standby site holds a Redis replica` };
}
