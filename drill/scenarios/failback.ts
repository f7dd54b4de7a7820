/**
 * `failback`: after a region failover (run first, as in `region-failover`), the old primary
 * site's members start again. They must come back as a standby cluster of the new primary and
 * never take a write: `drstack failback --site <old primary>` (failover, local driver)
 * re-seeds them (pg_rewind where needed) and waits until they stream. Meanwhile a writer keeps
 * writing to whichever server takes writes, probes try to write on every old-primary member
 * directly, and the old site's roles are polled. Consumes the environment.
 */
import * as fs from "node:fs";
import { runFailback } from "../../failover/orchestrate";
import type { DrillEnvironment } from "../environment";
import { pgTarget, restPorts, startMember } from "../environment";
import { clusterState, waitForCluster } from "../patroni";
import { PgWriter, sql, WRITES_TABLE } from "../pg";
import type { RunResult } from "../stats";
import { nowMs, sleep, waitFor } from "../system";
import { lossOf, presentSeqs, secondsBetween, writesFlowing } from "./common";
import { flippedNetworkPath, localSwapEnvironment, regionFailover } from "./region";

/** Watches the old primary site: roles it reports and writes it accepts, until stopped. */
class FenceWatch {
  readonly roles = new Set<string>();
  acceptedWrites = 0;
  probes = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly env: DrillEnvironment,
    private readonly run: string,
  ) {}

  start(): void {
    this.loop = this.main();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async main(): Promise<void> {
    let n = 0;
    while (!this.stopping) {
      try {
        const s = await clusterState(restPorts(this.env, "primary"));
        for (const m of s.members) this.roles.add(m.role);
      } catch {
        /* not up yet */
      }
      await Promise.all(
        this.env.layout.primary.members.map(async (m) => {
          this.probes++;
          try {
            await sql(
              pgTarget(this.env, "primary", false, [m.pgPort]),
              `INSERT INTO ${WRITES_TABLE} (run, seq) VALUES ('${this.run}', ${++n});`,
              3000,
            );
            this.acceptedWrites++;
          } catch {
            /* refused (read-only) or not running: what a fenced site must do */
          }
        }),
      );
      await sleep(100);
    }
  }
}

export async function failback(env: DrillEnvironment, run: number): Promise<RunResult> {
  const region = await regionFailover(env, run);
  if (region.error || region.checks.some((c) => !c.ok))
    throw new Error(
      `the region failover before the failback failed: ${JSON.stringify(region.checks)}`,
    );
  const flipped = fs.readFileSync(flippedNetworkPath(env), "utf8");
  const oldSite = env.settings.primarySite.name;
  const newPrimary = env.settings.standbySite.name;
  const both = [...env.layout.standby.members, ...env.layout.primary.members].map((m) => m.pgPort);
  const writer = new PgWriter(pgTarget(env, "dr", true, both), `failback-${run}-${Date.now()}`);
  const watch = new FenceWatch(env, `fence-probe-${run}-${Date.now()}`);
  writer.start();
  try {
    await writesFlowing(writer, 50);
    watch.start();
    env.progress(
      `  failback #${run}: restarting ${oldSite}'s members; drstack failback --site ${oldSite}`,
    );
    // A site that comes back after a region failure has been away longer than the leader key's
    // ttl; restarted sooner, its old leader would find its own unexpired key and resume as leader
    // before the fence (seen with ttl 20). Wait out the ttl as the real outage would.
    await sleep(env.settings.primaryPostgres.ttl * 1000);
    const t0 = nowMs();
    for (const m of env.layout.primary.members) startMember(env, m.name);
    // The operator runs failback once the returning site's Patroni answers (its preflight checks that).
    await waitFor(
      "the old primary site's Patroni to answer",
      () => clusterState(restPorts(env, "primary")),
      60_000,
      100,
    );
    const report = await runFailback(localSwapEnvironment(env, newPrimary, flipped), {
      site: oldSite,
      reseed: "rewind",
    });
    for (const st of report.steps)
      env.progress(
        `    failback step ${st.step} ${st.site ?? ""}: ${st.status} in ${(st.durationMs / 1000).toFixed(2)}s`,
      );
    const rejoined = await waitForCluster(
      restPorts(env, "primary"),
      env.layout.primary.members.length - 1,
      180_000,
      "standby_leader",
    );
    const rejoinSeconds = secondsBetween(t0, nowMs());
    await writesFlowing(writer, 20);
    await watch.stop();
    await writer.stop();
    const present = await presentSeqs(env, "dr", writer.run);
    const loss = lossOf(writer.acks, present, t0);
    // The rejoined site has the new primary's data: the writer's last acknowledged row arrives.
    const last = writer.acks[writer.acks.length - 1];
    const leader = rejoined.members.find((m) => m.role === "standby_leader")!;
    let replicated = false;
    for (let i = 0; i < 100 && !replicated; i++) {
      const out = await sql(
        pgTarget(env, "primary", false, [leader.port]),
        `SELECT count(*) FROM ${WRITES_TABLE} WHERE run = '${writer.run}' AND seq = ${last.seq};`,
      ).catch(() => "0");
      replicated = out === "1";
      if (!replicated) await sleep(100);
    }
    env.progress(
      `  failback #${run}: ${oldSite} rejoined as a standby in ${rejoinSeconds.toFixed(2)}s; ${watch.acceptedWrites} writes accepted by it, roles seen: ${[...watch.roles].join(", ")}`,
    );
    return {
      scenario: "failback",
      run,
      rtoSeconds: rejoinSeconds,
      lostWrites: loss.lost.length,
      rpoSeconds: loss.rpoSeconds,
      acknowledgedWrites: writer.acks.length,
      measures: {
        rejoinSeconds,
        regionRtoFromDecisionSeconds: region.rtoSeconds ?? -1,
        fenceProbes: watch.probes,
        writesAcceptedByOldSite: watch.acceptedWrites,
        rolesSeenOnOldSite: [...watch.roles].sort().join(","),
        ...Object.fromEntries(
          report.steps.map((st) => [
            `step:${st.step}`,
            `${st.status} ${(st.durationMs / 1000).toFixed(3)}s`,
          ]),
        ),
      },
      checks: [
        {
          name: "drstack failback completed",
          ok: report.outcome === "completed",
          detail: `${report.outcome}${report.stoppedBecause ? `: ${report.stoppedBecause}` : ""}`,
        },
        {
          name: "the old primary site rejoined as a standby cluster",
          ok: rejoined.members.every((m) => m.role !== "leader"),
          detail: rejoined.members.map((m) => `${m.name}:${m.role}`).join(", "),
        },
        {
          name: "the old primary site never took a write after the fence",
          ok: watch.acceptedWrites === 0 && !watch.roles.has("leader"),
          detail: `${watch.acceptedWrites} of ${watch.probes} probe writes accepted; roles ${[...watch.roles].join(", ")}`,
        },
        {
          name: "no acknowledged write lost",
          ok: loss.lost.length === 0,
          detail: `${loss.lost.length} lost`,
        },
        {
          name: "the rejoined site streams the new primary's writes",
          ok: replicated,
          detail: `seq ${last.seq}`,
        },
      ],
    };
  } finally {
    await watch.stop();
    await writer.stop();
  }
}
