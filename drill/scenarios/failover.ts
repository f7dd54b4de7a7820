/**
 * PostgreSQL inside the primary site: `node-failover` (kill -9 the leader's Patroni and
 * postmaster with every backend), its Patroni-defaults baseline, and a planned `switchover`.
 */
import {
  type DrillEnvironment,
  drainMember,
  killMember,
  memberLayout,
  pgTarget,
  restPorts,
  startMember,
} from "../environment";
import { clusterState, getConfig, patchConfig, switchover } from "../patroni";
import { PgWriter } from "../pg";
import { BASELINE, PATRONI_DEFAULT_TIMING, type RunResult } from "../stats";
import { nowMs, sleep, waitFor } from "../system";
import { lossOf, presentSeqs, primaryHealthy, secondsBetween, writesFlowing } from "./common";

/** Timing the cluster runs with now (Patroni's dynamic configuration). */
async function timing(
  env: DrillEnvironment,
): Promise<{ ttl: number; loopWait: number; retryTimeout: number }> {
  const c = await getConfig(restPorts(env, "primary")[0]).catch(async () => {
    const s = await clusterState(restPorts(env, "primary"));
    const leader = s.members.find((m) => m.role === "leader");
    return getConfig(memberLayout(env, leader!.name).restPort);
  });
  return {
    ttl: Number(c.ttl),
    loopWait: Number(c.loop_wait),
    retryTimeout: Number(c.retry_timeout),
  };
}

/**
 * kill -9 the leader during writes. RTO: from the kill to the first write acknowledged by
 * another member. RPO: acknowledged writes missing on the new leader. Then the old leader is
 * restarted and must rejoin as a replica on the new timeline.
 */
export async function nodeFailover(
  env: DrillEnvironment,
  run: number,
  baseline = false,
  mode: "kill" | "drain" = "kill",
): Promise<RunResult> {
  const scenario = baseline ? BASELINE : mode === "drain" ? "node-drain" : "node-failover";
  const rendered = env.settings.primaryPostgres;
  const state = await primaryHealthy(env);
  const leader = state.members.find((m) => m.role === "leader")!;
  const old = memberLayout(env, leader.name);
  const t = await timing(env);
  const writer = new PgWriter(pgTarget(env, "primary", true), `${scenario}-${run}-${Date.now()}`);
  writer.start();
  let crashAt = 0;
  try {
    await writesFlowing(writer, 50);
    await sleep(500);
    env.progress(
      mode === "drain"
        ? `  ${scenario} #${run}: SIGTERM ${old.name}'s Patroni (as a Kubernetes drain) during writes, ttl ${t.ttl}s loop_wait ${t.loopWait}s`
        : `  ${scenario} #${run}: kill -9 ${old.name} (Patroni + postmaster) during writes, ttl ${t.ttl}s loop_wait ${t.loopWait}s`,
    );
    crashAt = nowMs();
    // Drain: Patroni stops PostgreSQL and releases the leader key; kill -9: the key must expire.
    if (mode === "drain") await drainMember(env, old.name);
    else await killMember(env, old.name);
    const first = await waitFor(
      "a write acknowledged by a new leader",
      () => writer.firstAckAfter(crashAt, old.pgPort),
      (t.ttl + t.loopWait * 2 + 60) * 1000,
      20,
    );
    await writesFlowing(writer, 20);
    await writer.stop();
    const present = await presentSeqs(env, "primary", writer.run);
    const loss = lossOf(writer.acks, present, crashAt);
    const rto = secondsBetween(crashAt, first.ackedAt);
    env.progress(
      `  ${scenario} #${run}: new leader on :${first.port} after ${rto.toFixed(2)}s, ${loss.lost.length} acknowledged writes lost; restarting ${old.name}`,
    );
    const rejoinStart = nowMs();
    startMember(env, old.name);
    const after = await primaryHealthy(env, 180_000);
    const rejoined = after.members.find((m) => m.name === old.name);
    const newLeader = after.members.find((m) => m.role === "leader");
    return {
      scenario,
      run,
      rtoSeconds: rto,
      lostWrites: loss.lost.length,
      rpoSeconds: loss.rpoSeconds,
      acknowledgedWrites: writer.acks.length,
      measures: {
        killed: old.name,
        newLeader: newLeader?.name ?? "?",
        ttl: t.ttl,
        loopWait: t.loopWait,
        retryTimeout: t.retryTimeout,
        synchronousMode: env.settings.primaryPostgres.synchronousMode,
        unansweredWrites: writer.unanswered.length,
        sessions: writer.sessions,
        rejoinSeconds: secondsBetween(rejoinStart, nowMs()),
        rejoinedRole: rejoined?.role ?? "missing",
        // Theoretical bound from the rendered settings: kill -9, the key expires after ttl and
        // a replica acts in its next HA loop (<= loop_wait); drain, the key is released at
        // shutdown and a replica acts within one loop_wait.
        boundSeconds: mode === "drain" ? t.loopWait : t.ttl + t.loopWait,
      },
      checks: [
        ...(baseline
          ? []
          : [
              {
                name: "effective timing (GET /config) equals the rendered settings",
                ok:
                  t.ttl === rendered.ttl &&
                  t.loopWait === rendered.loopWait &&
                  t.retryTimeout === rendered.retryTimeout,
                detail: `effective ttl ${t.ttl} loop_wait ${t.loopWait} retry_timeout ${t.retryTimeout}; rendered ${rendered.ttl}/${rendered.loopWait}/${rendered.retryTimeout}`,
              },
            ]),
        {
          name: "old leader rejoined as a replica",
          ok:
            rejoined !== undefined &&
            rejoined.role !== "leader" &&
            rejoined.timeline === newLeader?.timeline,
          detail: `${old.name}: ${rejoined?.role ?? "missing"} on timeline ${rejoined?.timeline}`,
        },
        ...(env.settings.primaryPostgres.synchronousMode
          ? [
              {
                name: "no acknowledged write lost (synchronous mode)",
                ok: loss.lost.length === 0,
                detail: `${loss.lost.length} lost`,
              },
            ]
          : []),
      ],
    };
  } finally {
    await writer.stop();
  }
}

/** The baseline: the same kill with Patroni's default ttl/loop_wait/retry_timeout, then the deployed timing back. */
export async function baselineFailover(env: DrillEnvironment, run: number): Promise<RunResult> {
  await primaryHealthy(env);
  const deployed = env.settings.primaryPostgres;
  const leaderRest = async () => {
    const s = await clusterState(restPorts(env, "primary"));
    return memberLayout(env, s.members.find((m) => m.role === "leader")!.name).restPort;
  };
  await patchConfig(await leaderRest(), {
    ttl: PATRONI_DEFAULT_TIMING.ttl,
    loop_wait: PATRONI_DEFAULT_TIMING.loopWait,
    retry_timeout: PATRONI_DEFAULT_TIMING.retryTimeout,
  });
  // Let every member pick the new timing up (one loop at the old loop_wait, then one at the new).
  await sleep((deployed.loopWait + PATRONI_DEFAULT_TIMING.loopWait) * 1000);
  try {
    return await nodeFailover(env, run, true);
  } finally {
    await primaryHealthy(env).catch(() => undefined);
    await patchConfig(await leaderRest(), {
      ttl: deployed.ttl,
      loop_wait: deployed.loopWait,
      retry_timeout: deployed.retryTimeout,
    });
    await sleep((PATRONI_DEFAULT_TIMING.loopWait + deployed.loopWait) * 1000);
  }
}

/**
 * Planned switchover to the synchronous standby during writes. RTO: the write pause, from the
 * last write the old leader acknowledged to the first the new leader acknowledged.
 */
export async function plannedSwitchover(env: DrillEnvironment, run: number): Promise<RunResult> {
  const state = await primaryHealthy(env);
  const leader = state.members.find((m) => m.role === "leader")!;
  const candidate =
    state.members.find((m) => m.role === "sync_standby") ??
    state.members.find((m) => m.role === "replica")!;
  const old = memberLayout(env, leader.name);
  const writer = new PgWriter(pgTarget(env, "primary", true), `switchover-${run}-${Date.now()}`);
  writer.start();
  try {
    await writesFlowing(writer, 50);
    env.progress(`  switchover #${run}: ${leader.name} -> ${candidate.name} during writes`);
    const t0 = nowMs();
    await switchover(old.restPort, leader.name, candidate.name);
    const apiSeconds = secondsBetween(t0, nowMs());
    const first = await waitFor(
      "a write acknowledged by the new leader",
      () => writer.firstAckAfter(t0, old.pgPort),
      60_000,
      20,
    );
    await writesFlowing(writer, 20);
    await writer.stop();
    const lastOld = writer.lastAckBefore(first.ackedAt - 0.001);
    const pause = secondsBetween(lastOld?.ackedAt ?? t0, first.ackedAt);
    const present = await presentSeqs(env, "primary", writer.run);
    const loss = lossOf(writer.acks, present, t0);
    const after = await primaryHealthy(env, 180_000);
    const demoted = after.members.find((m) => m.name === leader.name);
    const newLeader = after.members.find((m) => m.role === "leader");
    env.progress(
      `  switchover #${run}: writes paused ${pause.toFixed(2)}s, ${loss.lost.length} lost`,
    );
    return {
      scenario: "switchover",
      run,
      rtoSeconds: pause,
      lostWrites: loss.lost.length,
      rpoSeconds: loss.rpoSeconds,
      acknowledgedWrites: writer.acks.length,
      measures: {
        from: leader.name,
        to: candidate.name,
        newLeader: newLeader?.name ?? "?",
        switchoverApiSeconds: apiSeconds,
        writePauseSeconds: pause,
        unansweredWrites: writer.unanswered.length,
      },
      checks: [
        {
          name: "the candidate became leader",
          ok: newLeader?.name === candidate.name,
          detail: newLeader?.name,
        },
        {
          name: "old leader is a replica",
          ok: demoted !== undefined && demoted.role !== "leader",
          detail: `${leader.name}: ${demoted?.role}`,
        },
        {
          name: "no acknowledged write lost",
          ok: loss.lost.length === 0,
          detail: `${loss.lost.length} lost`,
        },
      ],
    };
  } finally {
    await writer.stop();
  }
}
