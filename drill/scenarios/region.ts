/**
 * `region-failover`: the primary site dies (every member kill -9'd at once). Once the drill sees
 * it unreachable (the decision), it runs the stack swap itself, `drstack failover --to <dr>
 * --force` (failover: preflight, fence, promote, flip the topology, verify writes) with
 * the local site driver over this environment; its promotion removes `standby_cluster` from the
 * DR cluster's dynamic configuration. Clients list both sites' servers and take the read-write
 * one (libpq `target_session_attrs=read-write`), as a DNS switch would. RTO from the decision and
 * from the crash; RPO against acknowledged writes; the standby's replication lag just before the
 * crash. Consumes the environment.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { localDriver, localSitesFromEndpoints } from "../../failover/local";
import { runFailover, type SwapEnvironment, type SwapReport } from "../../failover/orchestrate";
import type { DrillEnvironment } from "../environment";
import { killMember, pgTarget, restPorts, siteEndpoints } from "../environment";
import { HOST } from "../layout";
import { clusterState, waitForCluster } from "../patroni";
import { PgWriter, sql } from "../pg";
import type { RunResult } from "../stats";
import { nowMs, sleep, waitFor } from "../system";
import { lossOf, presentSeqs, primaryHealthy, secondsBetween, writesFlowing } from "./common";

/** Whether no member of `ports` answers its REST API (the site is down). */
async function siteDown(ports: readonly number[]): Promise<boolean> {
  try {
    await clusterState(ports);
    return false;
  } catch {
    return true;
  }
}

export interface StandbyLag {
  /** Bytes between the primary's current WAL position and the standby leader's replay position. */
  readonly bytes: number;
  /** Seconds since the last transaction the standby replayed (0 when caught up). */
  readonly replaySeconds: number;
}

/** The standby leader's lag behind the primary, measured now. */
export async function standbyLag(env: DrillEnvironment): Promise<StandbyLag> {
  const primaryLsn = await sql(pgTarget(env, "primary", true), "SELECT pg_current_wal_lsn();");
  const s = await clusterState(restPorts(env, "dr"));
  const leader = s.members.find((m) => m.role === "standby_leader");
  if (!leader) throw new Error("the standby cluster has no standby leader");
  const out = await sql(
    pgTarget(env, "dr", false, [leader.port]),
    `SELECT pg_wal_lsn_diff('${primaryLsn}', pg_last_wal_replay_lsn()),
            COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0);`,
  );
  const [bytes, secs] = out.split("|").map(Number);
  return { bytes: Math.max(0, bytes), replaySeconds: Math.max(0, secs) };
}

/** Where the stack swap writes the flipped topology: the work directory, never the project. */
export function flippedNetworkPath(env: DrillEnvironment): string {
  return path.join(env.layout.workDir, "network.yaml");
}

/**
 * The stack swap's environment over this drill: its local site driver built from
 * {@link siteEndpoints}, with `upstream` the topology's primary site, and the topology `text`.
 */
export function localSwapEnvironment(
  env: DrillEnvironment,
  upstream: string,
  text: string,
): SwapEnvironment {
  const primary = env.settings.primarySite.name;
  const sites = localSitesFromEndpoints([siteEndpoints(env, "primary"), siteEndpoints(env, "dr")], {
    [primary]: { replication: { host: HOST, port: env.layout.replicationPort } },
  });
  const out = flippedNetworkPath(env);
  return {
    driver: localDriver(sites, (s) => (s === upstream ? undefined : upstream), { pollMs: 100 }),
    networkText: text,
    networkFile: env.settings.networkFile,
    writeNetwork: async (t) => {
      fs.writeFileSync(out, t);
      return out;
    },
    pollMs: 100,
  };
}

/** `drstack failover --to <standby site> --force` over this environment. */
export function stackSwap(env: DrillEnvironment): Promise<SwapReport> {
  const text = fs.readFileSync(path.resolve(env.projectDir, env.settings.networkFile), "utf8");
  return runFailover(localSwapEnvironment(env, env.settings.primarySite.name, text), {
    target: env.settings.standbySite.name,
    force: true,
    reason: "drill: the primary region is lost (every member killed)",
  });
}

/**
 * What the DR members' logs say about following the primary (timeline and replication errors):
 * after failovers inside the primary site, a standby cluster that received WAL the promoted
 * replica never had cannot follow the new timeline.
 */
export function standbyDiagnosis(env: DrillEnvironment): string {
  const lines: string[] = [];
  for (const m of env.layout.standby.members) {
    let text = "";
    try {
      text = fs.readFileSync(m.logFile, "utf8");
    } catch {
      continue;
    }
    const hits = text
      .split("\n")
      .filter((l) => /timeline|FATAL|could not receive|forked|not a child/i.test(l))
      .slice(-3);
    if (hits.length) lines.push(`${m.name}: ${hits.join(" | ")}`);
  }
  return lines.length
    ? `DR logs: ${lines.join("; ")}`
    : "no timeline or replication errors in the DR logs";
}

export async function regionFailover(env: DrillEnvironment, run: number): Promise<RunResult> {
  await primaryHealthy(env);
  await waitForCluster(
    restPorts(env, "dr"),
    env.layout.standby.members.length - 1,
    120_000,
    "standby_leader",
  ).catch((e: Error) => {
    throw new Error(
      `the DR standby cluster is not healthy before the crash: ${e.message}; ${standbyDiagnosis(env)}`,
    );
  });
  const both = [...env.layout.primary.members, ...env.layout.standby.members].map((m) => m.pgPort);
  const writer = new PgWriter(pgTarget(env, "primary", true, both), `region-${run}-${Date.now()}`);
  writer.start();
  try {
    await writesFlowing(writer, 50);
    await sleep(1000);
    const lag = await standbyLag(env);
    env.progress(
      `  region-failover #${run}: standby lag ${lag.bytes} bytes, ${lag.replaySeconds.toFixed(3)}s; killing the whole primary site`,
    );
    const crashAt = nowMs();
    await Promise.all(env.layout.primary.members.map((m) => killMember(env, m.name)));
    // The decision: the primary site is confirmed down (no member answers), then promote.
    await waitFor(
      "the primary site to be unreachable",
      async () => ((await siteDown(restPorts(env, "primary"))) ? true : undefined),
      30_000,
      50,
    );
    const decisionAt = nowMs();
    const swap = await stackSwap(env);
    const promotedAt = nowMs();
    for (const st of swap.steps)
      env.progress(
        `    failover step ${st.step} ${st.site ?? ""}: ${st.status} in ${(st.durationMs / 1000).toFixed(2)}s`,
      );
    if (swap.outcome !== "completed")
      throw new Error(
        `drstack failover did not complete: ${swap.outcome}: ${swap.stoppedBecause ?? ""}`,
      );
    const standbyPorts = new Set(env.layout.standby.members.map((m) => m.pgPort));
    const first = await waitFor(
      "a write acknowledged by the promoted DR site",
      () => writer.acks.find((a) => a.sentAt >= crashAt && standbyPorts.has(a.port)),
      120_000,
      20,
    );
    await writesFlowing(writer, 20);
    await writer.stop();
    const present = await presentSeqs(env, "dr", writer.run);
    const loss = lossOf(writer.acks, present, crashAt);
    const promoted = await waitForCluster(
      restPorts(env, "dr"),
      env.layout.standby.members.length - 1,
      120_000,
      "leader",
    );
    const newLeader = promoted.members.find((m) => m.role === "leader");
    const fromDecision = secondsBetween(decisionAt, first.ackedAt);
    env.progress(
      `  region-failover #${run}: DR site took writes ${fromDecision.toFixed(2)}s after the decision (${secondsBetween(crashAt, first.ackedAt).toFixed(2)}s after the crash), ${loss.lost.length} acknowledged writes lost`,
    );
    return {
      scenario: "region-failover",
      run,
      rtoSeconds: fromDecision,
      lostWrites: loss.lost.length,
      rpoSeconds: loss.rpoSeconds,
      acknowledgedWrites: writer.acks.length,
      measures: {
        rtoFromDecisionSeconds: fromDecision,
        rtoFromCrashSeconds: secondsBetween(crashAt, first.ackedAt),
        detectionSeconds: secondsBetween(crashAt, decisionAt),
        failoverSeconds: secondsBetween(decisionAt, promotedAt),
        ...Object.fromEntries(
          swap.steps.map((st) => [
            `step:${st.step}`,
            `${st.status} ${(st.durationMs / 1000).toFixed(3)}s`,
          ]),
        ),
        standbyLagBytesBeforeCrash: lag.bytes,
        standbyReplayDelaySecondsBeforeCrash: lag.replaySeconds,
        newLeader: newLeader?.name ?? "?",
        promotion: "drstack failover --force (local driver): PATCH /config {standby_cluster: null}",
        unansweredWrites: writer.unanswered.length,
      },
      checks: [
        {
          name: "drstack failover completed (fence recorded, promote, topology flipped, writes verified)",
          ok: swap.outcome === "completed" && swap.configEdits.length > 0,
          detail: swap.steps.map((st) => `${st.step}:${st.status}`).join(" "),
        },
        {
          name: "the DR site's cluster left standby mode (a leader, its replica following)",
          ok: newLeader !== undefined,
          detail: promoted.members.map((m) => `${m.name}:${m.role}`).join(", "),
        },
      ],
    };
  } finally {
    await writer.stop();
  }
}
