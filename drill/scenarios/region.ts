/**
 * `region-failover`: the primary site dies (every member kill -9'd at once). The drill confirms
 * it is down (the decision), then promotes the DR site's standby cluster the way the stack swap
 * does: remove `standby_cluster` from its dynamic configuration. Clients list both sites' servers
 * and take the read-write one (libpq `target_session_attrs=read-write`), as a DNS switch would.
 * RTO from the decision and from the crash; RPO against acknowledged writes; the standby's
 * replication lag just before the crash. Consumes the environment.
 */
import type { DrillEnvironment } from "../environment";
import { killMember, pgTarget, restPorts } from "../environment";
import { clusterState, promoteStandbyCluster, waitForCluster } from "../patroni";
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

export async function regionFailover(env: DrillEnvironment, run: number): Promise<RunResult> {
  await primaryHealthy(env);
  await waitForCluster(
    restPorts(env, "dr"),
    env.layout.standby.members.length - 1,
    120_000,
    "standby_leader",
  );
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
    await promoteStandbyCluster(restPorts(env, "dr"));
    const promotedAt = nowMs();
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
        promoteApiSeconds: secondsBetween(decisionAt, promotedAt),
        standbyLagBytesBeforeCrash: lag.bytes,
        standbyReplayDelaySecondsBeforeCrash: lag.replaySeconds,
        newLeader: newLeader?.name ?? "?",
        promotion: "PATCH /config {standby_cluster: null}",
        unansweredWrites: writer.unanswered.length,
      },
      checks: [
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
