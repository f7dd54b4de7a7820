/** Helpers shared by the scenarios: write loss accounting, healthy-cluster waits. */
import type { DrillEnvironment } from "../environment";
import { isUp } from "../patroni";
import { pgTarget, restPorts } from "../environment";
import { clusterState, type PatroniClusterState } from "../patroni";
import { type Ack, type PgWriter, sql, WRITES_TABLE } from "../pg";
import { rpoSeconds } from "../stats";
import { waitFor } from "../system";

export interface Loss {
  readonly lost: readonly Ack[];
  readonly rpoSeconds: number;
}

/** Acknowledged writes of `acks` whose seq is not in `present`, and the RPO they mean. Pure. */
export function lossOf(
  acks: readonly { seq: number; ackedAt: number }[],
  present: ReadonlySet<number>,
  failureAtMs: number,
): { lost: { seq: number; ackedAt: number }[]; rpoSeconds: number } {
  const lost = acks.filter((a) => !present.has(a.seq));
  return {
    lost,
    rpoSeconds: rpoSeconds(
      lost.map((a) => a.ackedAt),
      failureAtMs,
    ),
  };
}

/** The seqs of `run` present on the read-write server of `ports`. */
export async function presentSeqs(
  env: DrillEnvironment,
  site: "primary" | "dr",
  run: string,
): Promise<Set<number>> {
  const out = await sql(
    pgTarget(env, site, true),
    `SELECT seq FROM ${WRITES_TABLE} WHERE run = '${run}';`,
    60_000,
  );
  return new Set(out.split("\n").filter(Boolean).map(Number));
}

/** Waits (bounded) until `writer` has at least `n` more acknowledgements than now. */
export function writesFlowing(
  writer: PgWriter | { acks: readonly unknown[] },
  n: number,
  timeoutMs = 30_000,
): Promise<true> {
  const start = writer.acks.length;
  return waitFor(
    `${n} acknowledged writes`,
    () => (writer.acks.length >= start + n ? true : undefined),
    timeoutMs,
    20,
  );
}

/**
 * Waits until the primary cluster is whole: a leader, every other member a running replica on
 * the leader's timeline, and (in synchronous mode) a synchronous standby chosen.
 */
export function primaryHealthy(
  env: DrillEnvironment,
  timeoutMs = 120_000,
): Promise<PatroniClusterState> {
  const sync = env.settings.primaryPostgres.synchronousMode;
  const n = env.layout.primary.members.length;
  return waitFor(
    `the primary cluster to be whole (leader, ${n - 1} replicas on its timeline${sync ? ", a sync standby" : ""})`,
    async () => {
      const s = await clusterState(restPorts(env, "primary"));
      const leader = s.members.find((m) => m.role === "leader" && isUp(m));
      if (!leader) return undefined;
      const replicas = s.members.filter(
        (m) =>
          m !== leader &&
          isUp(m) &&
          (m.role === "replica" || m.role === "sync_standby") &&
          m.timeline === leader.timeline,
      );
      if (replicas.length < n - 1) return undefined;
      if (sync && !replicas.some((m) => m.role === "sync_standby")) return undefined;
      return s;
    },
    timeoutMs,
    200,
  );
}

export function secondsBetween(fromMs: number, toMs: number): number {
  return Math.round(toMs - fromMs) / 1000;
}
