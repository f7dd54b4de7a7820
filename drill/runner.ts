/**
 * Runs the selected scenarios: brings the environment up once, runs every scenario `runs`
 * times, rebuilds the environment when a scenario consumed it (region failover), judges each
 * scenario against the network's objectives, and always stops every process it started (also
 * on SIGINT/SIGTERM).
 */
import {
  type DrillEnvironment,
  type EnvironmentOptions,
  killAllEnvironmentsNow,
  startEnvironment,
  stopAllEnvironments,
  stopEnvironment,
} from "./environment";
import { DEPLOYED } from "../components/shared/versions";
import { useRuntime } from "./runtime";
import { backupRestore, DEFAULT_SCALE } from "./scenarios/backup";
import { failback } from "./scenarios/failback";
import { baselineFailover, nodeFailover, plannedSwitchover } from "./scenarios/failover";
import { redisFailover } from "./scenarios/redis";
import { regionFailover } from "./scenarios/region";
import {
  BASELINE,
  judge,
  type PlannedScenario,
  type RunResult,
  type ScenarioSummary,
} from "./stats";

export interface DrillOptions extends EnvironmentOptions {
  readonly scenarios: readonly PlannedScenario[];
  readonly runs: number;
  /** Patroni version to run (drill/runtime.ts). Default: DRILL_DEFAULT (the deployed major.minor). */
  readonly patroni?: string;
  /** pgbench scale of the backup-restore data set. Default {@link DEFAULT_SCALE}. */
  readonly pgbenchScale?: number;
}

export interface DrillReport {
  readonly drstackDrill: 1;
  readonly patroniVersion: string;
  /** PostgreSQL major version the drill ran. */
  readonly postgresMajor: number;
  /** What `pulumi up` deploys by default (components/shared/versions.ts). */
  readonly deployed: {
    readonly image: string;
    readonly patroni: string;
    readonly postgres: string;
  };
  readonly network: string;
  readonly settings: {
    readonly postgres: {
      ttl: number;
      loopWait: number;
      retryTimeout: number;
      synchronousMode: boolean;
    };
    readonly redis: { downAfterMilliseconds: number; quorum: number; sentinels: number };
  };
  readonly environmentStartSeconds: readonly number[];
  readonly summaries: readonly ScenarioSummary[];
  readonly runs: readonly RunResult[];
  /** Processes of the drill still alive after it stopped (should be empty). */
  readonly leftoverPids: readonly number[];
  readonly workDir: string;
  readonly workDirRemoved: boolean;
  readonly passed: boolean;
  readonly totalSeconds: number;
}

/** Whether running `s` leaves the environment unusable for further scenarios. */
function consumes(s: PlannedScenario): boolean {
  return s === "region-failover" || s === "failback";
}

async function runOnce(
  env: DrillEnvironment,
  s: PlannedScenario,
  run: number,
  o: DrillOptions,
): Promise<RunResult> {
  switch (s) {
    case "node-failover":
      return nodeFailover(env, run);
    case "node-drain":
      return nodeFailover(env, run, false, "drain");
    case BASELINE:
      return baselineFailover(env, run);
    case "switchover":
      return plannedSwitchover(env, run);
    case "redis-failover":
      return redisFailover(env, run);
    case "backup-restore":
      return backupRestore(env, run, o.pgbenchScale ?? DEFAULT_SCALE);
    case "region-failover":
      return regionFailover(env, run);
    case "failback":
      return failback(env, run);
  }
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  const t0 = Date.now();
  const runtime = useRuntime(o.patroni);
  const progress = o.progress ?? (() => undefined);
  let env: DrillEnvironment | undefined;
  let leftover: number[] = [];
  let workDirRemoved = false;
  let workDir = "";
  const starts: number[] = [];
  const results: RunResult[] = [];
  const up = async () => {
    env = await startEnvironment(o);
    workDir = env.layout.workDir;
    starts.push(env.startSeconds);
    return env;
  };
  const down = async () => {
    if (!env) return;
    const e = env;
    env = undefined;
    const r = await stopEnvironment(e);
    leftover = [...leftover, ...r.leftover];
    workDirRemoved = r.workDirRemoved;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`drill: ${sig}: stopping every process of the drill`);
    env = undefined;
    const finish = () => process.exit(sig === "SIGINT" ? 130 : 143);
    // Also an environment still starting up (not yet returned to us).
    void stopAllEnvironments().then(finish, finish);
  };
  const onExit = () => killAllEnvironmentsNow();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  let settings: DrillEnvironment["settings"] | undefined;
  let patroniVersion = "";
  try {
    for (const s of o.scenarios) {
      for (let run = 1; run <= o.runs; run++) {
        const e = env ?? (await up());
        settings = e.settings;
        patroniVersion = e.patroniVersion;
        progress(`${s}: run ${run}/${o.runs}`);
        const started = Date.now();
        try {
          const r = await runOnce(e, s, run, o);
          results.push({
            ...r,
            measures: { ...r.measures, scenarioSeconds: (Date.now() - started) / 1000 },
          });
        } catch (err) {
          const message = (err as Error).message;
          progress(`${s}: run ${run} failed: ${message}`);
          results.push({ scenario: s, run, error: message, measures: {}, checks: [] });
          // The environment may be half-broken: rebuild it for what follows.
          await down();
          continue;
        }
        if (consumes(s)) await down();
      }
    }
  } finally {
    await down();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  }
  const objectives = settings?.network.objectives ?? {};
  const summaries = o.scenarios.map((s) =>
    judge(
      s,
      results.filter((r) => r.scenario === s),
      objectives,
    ),
  );
  const p = settings?.primaryPostgres;
  const r = settings?.redis;
  return {
    drstackDrill: 1,
    patroniVersion: patroniVersion || runtime.patroni,
    postgresMajor: runtime.postgresMajor,
    deployed: { image: DEPLOYED.image, patroni: DEPLOYED.patroni, postgres: DEPLOYED.postgres },
    network: settings?.networkFile ?? "",
    settings: {
      postgres: {
        ttl: p?.ttl ?? 0,
        loopWait: p?.loopWait ?? 0,
        retryTimeout: p?.retryTimeout ?? 0,
        synchronousMode: p?.synchronousMode ?? false,
      },
      redis: {
        downAfterMilliseconds: r?.downAfterMilliseconds ?? 0,
        quorum: r?.quorum ?? 0,
        sentinels: r?.sentinels ?? 0,
      },
    },
    environmentStartSeconds: starts,
    summaries,
    runs: results,
    leftoverPids: leftover,
    workDir,
    workDirRemoved,
    passed:
      leftover.length === 0 && summaries.every((s) => s.verdict === "pass" || s.verdict === "info"),
    totalSeconds: (Date.now() - t0) / 1000,
  };
}
