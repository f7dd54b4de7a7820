/**
 * `redis-failover`: kill -9 the Redis master during writes. RTO: from the kill to the first
 * write acknowledged (RPUSH + WAIT 1) by the master the sentinels then report. Lost: acknowledged
 * writes missing from the new master. The old master is restarted and must rejoin as a replica.
 */
import type { DrillEnvironment } from "../environment";
import { waitForSentinels } from "../environment";
import { cleanEnv } from "../procs";
import { REDIS_LIST, redisCommand, RedisWriter, sentinelMaster } from "../resp";
import type { RunResult } from "../stats";
import { nowMs, sleep, waitFor } from "../system";
import { lossOf, secondsBetween, writesFlowing } from "./common";

export async function redisFailover(env: DrillEnvironment, run: number): Promise<RunResult> {
  const l = env.layout.redis;
  const rs = env.settings.redis;
  const pw = env.secrets.redis;
  const masterPort = await waitForSentinels(env, undefined, 120_000);
  const master = l.servers.find((s) => s.port === masterPort);
  if (!master)
    throw new Error(`sentinels report master :${masterPort}, not one of the drill's servers`);
  const writer = new RedisWriter(
    l.sentinels.map((s) => s.port),
    pw,
    rs.masterName,
    `redis-${run}-${Date.now()}`,
  );
  writer.start();
  try {
    await writesFlowing(writer, 50);
    await sleep(500);
    env.progress(
      `  redis-failover #${run}: kill -9 ${master.name} (:${master.port}) during writes, down-after ${rs.downAfterMilliseconds}ms`,
    );
    const crashAt = nowMs();
    await env.supervisor.kill(master.name, "SIGKILL");
    const first = await waitFor(
      "a write acknowledged by a new master",
      () => writer.firstAckAfter(crashAt, master.port),
      rs.downAfterMilliseconds + rs.failoverTimeout + 30_000,
      20,
    );
    await writesFlowing(writer, 20);
    await writer.stop();
    const list = await redisCommand(first.port, pw, ["LRANGE", REDIS_LIST, 0, -1], 10_000);
    const prefix = `${writer.run}:`;
    const present = new Set(
      (Array.isArray(list) ? list : [])
        .map(String)
        .filter((v) => v.startsWith(prefix))
        .map((v) => Number(v.slice(prefix.length))),
    );
    const loss = lossOf(writer.acks, present, crashAt);
    const rto = secondsBetween(crashAt, first.ackedAt);
    const reported = await sentinelMaster(l.sentinels[0].port, pw, rs.masterName);
    env.progress(
      `  redis-failover #${run}: new master :${first.port} after ${rto.toFixed(2)}s, ${loss.lost.length} acknowledged writes lost; restarting ${master.name}`,
    );
    const rejoinStart = nowMs();
    env.supervisor.start(master.name, "redis-server", {
      args: [master.config],
      env: cleanEnv([], "/tmp"),
      cwd: master.dir,
    });
    await waitForSentinels(env, first.port, 120_000);
    // Sentinel turns the returning master into a replica of the new one (it announces the change
    // on its next contact); wait for the link to be up.
    let oldRole = "unknown";
    await waitFor(
      `${master.name} to replicate from the new master`,
      async () => {
        const role = await redisCommand(master.port, pw, ["ROLE"], 2000);
        oldRole = Array.isArray(role) ? String(role[0]) : "unknown";
        return Array.isArray(role) &&
          role[0] === "slave" &&
          Number(role[2]) === first.port &&
          role[3] === "connected"
          ? true
          : undefined;
      },
      60_000,
      100,
    ).catch(() => undefined);
    return {
      scenario: "redis-failover",
      run,
      rtoSeconds: rto,
      lostWrites: loss.lost.length,
      rpoSeconds: loss.rpoSeconds,
      acknowledgedWrites: writer.acks.length,
      measures: {
        killed: master.name,
        newMasterPort: first.port,
        downAfterMilliseconds: rs.downAfterMilliseconds,
        unconfirmedWrites: writer.unconfirmed.length,
        rejoinSeconds: secondsBetween(rejoinStart, nowMs()),
        oldMasterRole: oldRole,
      },
      checks: [
        {
          name: "sentinels report the new master",
          ok: reported === first.port,
          detail: `:${reported}`,
        },
        { name: "old master rejoined as a replica", ok: oldRole === "slave", detail: oldRole },
      ],
    };
  } finally {
    await writer.stop();
  }
}
