/**
 * The failure-domain analysis: for each domain (zone, pair of zones in a region, region, cloud,
 * site), what survives (consensus, PostgreSQL, Redis, backups), the recovery time and data loss
 * the settings can achieve (each with its formula), and the verdict against the objectives the
 * network declares. Pure: the network and the facts read from the rendered resources in, a report
 * out.
 */
import {
  formatDuration,
  type Network,
  type Objective,
  primarySite,
  type Scenario,
} from "../components/topology/model";
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
} from "./domains";
import type { SiteFacts } from "./facts";
import {
  type BackupOutcome,
  backupOutcome,
  type PostgresOutcome,
  postgresOutcome,
  type RedisOutcome,
  redisOutcome,
  runs,
} from "./outcomes";

export type { BackupOutcome, PostgresOutcome, RedisOutcome };

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
