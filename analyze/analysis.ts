/**
 * The failure-domain analysis: for each domain (zone, pair of zones in a region, region, cloud,
 * site), what survives (consensus, PostgreSQL, Redis, backups), the recovery time and data loss
 * the settings can achieve (each with its formula), and the verdict against the objectives the
 * network declares. Pure: the network and the facts read from the rendered resources in, a report
 * out.
 */
import { majority } from "../components/redis/settings";
import {
  formatDuration,
  type Network,
  type Objective,
  primarySite,
  type Scenario,
  type Site,
} from "../components/topology/model";
import { cronGap } from "../components/util/cron";
import {
  type Bound,
  DEFAULT_SWAP_ASSUMPTIONS,
  patroniFailoverBound,
  sentinelFailoverBound,
  stackSwapBound,
  type SwapAssumptions,
} from "./bounds";
import {
  type Consensus,
  consensusAfter,
  type Domain,
  failureDomains,
  largestShares,
  type LargestShare,
  lostZonesOf,
  worstCaseLost,
} from "./domains";
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

export type Verdict = "met" | "missed" | "not-derived";

export interface ObjectiveCheck {
  readonly scenario: Scenario;
  readonly what: "rto" | "rpo";
  readonly declared: string;
  readonly achievable?: Bound;
  readonly verdict: Verdict;
  /** For a miss: the setting to change. For not-derived: why. */
  readonly fix?: string;
}

export interface DomainResult {
  readonly domain: Domain;
  readonly consensus: Consensus;
  readonly postgres: PostgresOutcome;
  readonly redis: RedisOutcome;
  readonly backup: BackupOutcome;
  /** The scenario whose objectives apply to this loss (undefined: no data service is touched). */
  readonly scenario?: Scenario;
  readonly checks: readonly ObjectiveCheck[];
}

export interface Analysis {
  readonly network: string;
  readonly largest: readonly LargestShare[];
  readonly domains: readonly DomainResult[];
  /** Objectives checked once for the network (node, full, corruption). */
  readonly global: readonly ObjectiveCheck[];
  readonly assumptions: SwapAssumptions;
  /** Sites whose resources were not available (their facts are unknown). */
  readonly unknownSites: readonly string[];
  readonly problems: readonly string[];
  /** Findings that do not fail the analysis (a provider-wide loss halting consensus, see docs). */
  readonly warnings: readonly string[];
}

export interface AnalysisOptions {
  readonly assumptions?: SwapAssumptions;
  /** Patroni version the image runs, when known. Default: unknown (floors applied). */
  readonly patroniVersion?: string;
}

const runs = (s: Site, svc: string) => s.services.includes(svc as never);

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

function check(
  scenario: Scenario,
  what: "rto" | "rpo",
  objective: Objective | undefined,
  achievable: Bound | undefined,
  fix: string,
  notDerived = "not derivable from settings",
): ObjectiveCheck | undefined {
  if (!objective) return undefined;
  const declaredSeconds = what === "rto" ? objective.rtoSeconds : objective.rpoSeconds;
  const declared = what === "rto" ? objective.rto : objective.rpo;
  if (!achievable) return { scenario, what, declared, verdict: "not-derived", fix: notDerived };
  const met = achievable.seconds <= declaredSeconds;
  return {
    scenario,
    what,
    declared,
    achievable,
    verdict: met ? "met" : "missed",
    ...(met ? {} : { fix }),
  };
}

const ZERO: Bound = { seconds: 0, formula: "unaffected: 0s" };
/** No automatic recovery: an unbounded time. */
const NEVER = (why: string): Bound => ({
  seconds: Number.POSITIVE_INFINITY,
  formula: `no automatic recovery (${why})`,
});

function asyncLossBound(f: SiteFacts | undefined, where: string): Bound | undefined {
  if (!f?.lagAlert) return undefined;
  return {
    seconds: f.lagAlert.seconds,
    formula: `asynchronous replication to ${where}: PostgresReplicationLag threshold ${f.lagAlert.seconds}s (a larger lag pages within ${formatDuration(f.lagAlert.forSeconds)}; the stack swap's preflight refuses a target lagging more than the region RPO)`,
  };
}

/** Newest restorable point of the writer's backups from the copies outside the domain. */
function backupOutcome(
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

function postgresOutcome(
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

function redisOutcome(
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
      detail: `${sentinelsLeft}/${r.sentinels} sentinels (need ${need}: majority and quorum ${r.quorum}), ${r.servers - lostServers}/${r.servers} servers left: a replica is promoted`,
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

function scenarioOf(
  domain: Domain,
  pg: PostgresOutcome,
  redis: RedisOutcome,
): Scenario | undefined {
  if (pg.recovery === "unaffected" && redis.recovery === "unaffected") return undefined;
  if (pg.recovery === "stack-swap" || pg.recovery === "none" || redis.recovery === "stack-swap")
    return "region";
  return domain.kind === "zone" || domain.kind === "zone-pair" ? "zone" : "region";
}

function domainChecks(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  scenario: Scenario | undefined,
  pg: PostgresOutcome,
  redis: RedisOutcome,
  backup: BackupOutcome,
  o: Required<Pick<AnalysisOptions, "assumptions">> & AnalysisOptions,
): ObjectiveCheck[] {
  if (!scenario) return [];
  const objective = network.objectives[scenario];
  const writerFacts = facts.get(primarySite(network).name);
  const wpg = writerFacts?.postgres;
  let rto: Bound | undefined;
  let rpo: Bound | undefined;
  let rtoFix = "";
  let rpoFix = "";
  if (pg.recovery === "patroni-failover" && wpg) {
    rto = patroniFailoverBound(wpg, o.patroniVersion);
    rtoFix = `lower drstack:postgres ttl / loopWait / retryTimeout (Patroni >= 3.2 floors ttl at 20s)`;
    rpo = wpg.synchronousMode
      ? {
          seconds: 0,
          formula: "synchronous_mode: the promoted member is a synchronous standby: 0s",
        }
      : asyncLossBound(writerFacts, "the replicas");
    rpoFix = "set drstack:postgres synchronousMode: true";
  } else if (pg.recovery === "stack-swap" && pg.writer) {
    const t = facts.get(pg.writer)?.postgres;
    if (t) rto = stackSwapBound(t, o.patroniVersion, o.assumptions);
    rtoFix = `lower drstack:postgres loopWait / retryTimeout on ${pg.writer}, or the swap's decision and stack-update time`;
    rpo = asyncLossBound(facts.get(pg.writer) ?? writerFacts, pg.writer);
    rpoFix = `lower the PostgresReplicationLag threshold (replicationLagSeconds) for ${pg.writer}`;
  } else if (pg.recovery === "unaffected") {
    rto = ZERO;
    rpo = ZERO;
  } else {
    // No site can take writes without an operator: the objective cannot be met by the
    // configuration (a restore's duration depends on data size).
    rto = NEVER(`PostgreSQL: ${pg.detail}`);
    rpo = backup.newestRestorable;
    rtoFix = "add a standby site running postgres outside this domain";
    rpoFix = "add a standby site running postgres outside this domain";
  }
  if (redis.recovery === "none") {
    rto = NEVER(`Redis: ${redis.detail}`);
    rtoFix =
      "add sentinels and replicas in other zones (drstack:redis) or a standby site running redis";
  }
  if (redis.recovery === "sentinel-failover") {
    const r = writerFacts?.redis;
    if (r) {
      const s = sentinelFailoverBound(r);
      if (!rto || s.seconds > rto.seconds) {
        rto = {
          seconds: s.seconds,
          formula: `Redis Sentinel: ${s.formula}${rto ? ` (PostgreSQL: ${rto.formula})` : ""}`,
        };
        rtoFix = "lower drstack:redis downAfterMilliseconds / failoverTimeout";
      } else
        rto = { seconds: rto.seconds, formula: `${rto.formula} (Redis Sentinel: ${s.formula})` };
    }
  }
  return [
    check(scenario, "rto", objective, rto, rtoFix),
    check(scenario, "rpo", objective, rpo, rpoFix),
  ].filter((c): c is ObjectiveCheck => c !== undefined);
}

function globalChecks(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  o: AnalysisOptions,
): ObjectiveCheck[] {
  const writer = primarySite(network);
  const f = facts.get(writer.name);
  const out: (ObjectiveCheck | undefined)[] = [];
  if (f?.postgres) {
    const pg = patroniFailoverBound(f.postgres, o.patroniVersion);
    const r = f.redis ? sentinelFailoverBound(f.redis) : undefined;
    const worst =
      r && r.seconds > pg.seconds
        ? {
            seconds: r.seconds,
            formula: `Redis Sentinel: ${r.formula} (PostgreSQL: ${pg.formula})`,
          }
        : {
            seconds: pg.seconds,
            formula: `${pg.formula}${r ? ` (Redis Sentinel: ${r.formula})` : ""}`,
          };
    out.push(
      check(
        "node",
        "rto",
        network.objectives.node,
        worst,
        r && r.seconds > pg.seconds
          ? "lower drstack:redis downAfterMilliseconds / failoverTimeout"
          : "lower drstack:postgres ttl / loopWait / retryTimeout",
      ),
    );
    out.push(
      check(
        "node",
        "rpo",
        network.objectives.node,
        f.postgres.synchronousMode
          ? { seconds: 0, formula: "synchronous_mode: 0s" }
          : asyncLossBound(f, "the replicas"),
        "set drstack:postgres synchronousMode: true",
      ),
    );
  }
  const full: Domain = {
    kind: "cloud",
    name: "(everything)",
    zones: new Set(),
    sites: new Set(network.sites.map((s) => s.name)),
    regions: new Set(),
  };
  const b = backupOutcome(network, facts, full);
  out.push(
    check(
      "full",
      "rpo",
      network.objectives.full,
      b.newestRestorable,
      "back up more often (drstack:backup schedules.incr) or turn on WAL archiving",
    ),
  );
  out.push(
    check(
      "full",
      "rto",
      network.objectives.full,
      undefined,
      "",
      "restore time depends on data size: see the restore verification job's duration",
    ),
  );
  const archive = f?.postgres?.archiveTimeoutSeconds;
  out.push(
    check(
      "corruption",
      "rpo",
      network.objectives.corruption,
      archive !== undefined && archive > 0
        ? {
            seconds: archive,
            formula: `point-in-time restore from the WAL archive: archive_timeout ${archive}s`,
          }
        : undefined,
      "turn on WAL archiving",
      "WAL archiving is off: point-in-time restore is impossible",
    ),
  );
  return out.filter((c): c is ObjectiveCheck => c !== undefined);
}

/** Analyzes every failure domain of `network` against the facts of its sites. */
export function analyze(
  network: Network,
  facts: ReadonlyMap<string, SiteFacts>,
  opts: AnalysisOptions = {},
): Analysis {
  const o = { ...opts, assumptions: opts.assumptions ?? DEFAULT_SWAP_ASSUMPTIONS };
  const unknownSites = network.sites
    .filter((s) => (runs(s, "postgres") || runs(s, "redis")) && !facts.has(s.name))
    .map((s) => s.name);
  const domains = failureDomains(network).map((domain) => {
    const consensus = consensusAfter(network, domain);
    const postgres = postgresOutcome(network, facts, domain);
    const redis = redisOutcome(network, facts, domain);
    const backup = backupOutcome(network, facts, domain);
    const scenario = scenarioOf(domain, postgres, redis);
    return {
      domain,
      consensus,
      postgres,
      redis,
      backup,
      ...(scenario ? { scenario } : {}),
      checks: domainChecks(network, facts, scenario, postgres, redis, backup, o),
    };
  });
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const d of domains) {
    // A whole provider's loss: with two providers one always holds >= 1/2, so no layout avoids
    // it; reported (and by the advisory rule cloud-voting-power), never failing on its own.
    if (d.consensus.halts)
      (d.domain.kind === "cloud" ? warnings : problems).push(
        `${d.domain.kind} ${d.domain.name}: its loss takes ${d.consensus.lost}/${d.consensus.total} of the voting power (>= 1/3): consensus halts`,
      );
    if (!d.postgres.currentCopy && Object.keys(d.postgres.survivors).length > 0)
      problems.push(
        `${d.domain.kind} ${d.domain.name}: no current copy of the PostgreSQL data survives (backups only)`,
      );
    for (const c of d.checks)
      if (c.verdict === "missed")
        problems.push(
          `${d.domain.kind} ${d.domain.name}: ${c.scenario} ${c.what.toUpperCase()} ${c.declared} missed (${c.achievable!.formula}); ${c.fix}`,
        );
  }
  const global = globalChecks(network, facts, o);
  for (const c of global)
    if (c.verdict === "missed")
      problems.push(
        `${c.scenario} ${c.what.toUpperCase()} ${c.declared} missed (${c.achievable!.formula}); ${c.fix}`,
      );
  return {
    network: network.name,
    largest: largestShares(network),
    domains,
    global,
    assumptions: o.assumptions,
    unknownSites,
    problems,
    warnings,
  };
}
