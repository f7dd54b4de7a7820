/**
 * The real drill, end to end: `drstack drill` brings the environment up from the rendered
 * configurations, fails the Postgres leader, the Redis master and restores backups, then must
 * leave nothing behind. Needs the Debian packages (scripts/install-debian-deps.sh; CI runs it).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { DEFAULT_BASE_PORT, drillLayout, layoutPorts, PORT_SPAN } from "../drill/layout";
import { DEPLOYED, majorMinor } from "../components/shared/versions";
import { processesUnder } from "../drill/procs";
import { formatReport } from "../drill/report";
import type { DrillReport } from "../drill/runner";
import { SCENARIOS } from "../drill/stats";
import { missingBinaries, takenPorts } from "../drill/system";
import { runCli } from "./support/project";

/** A 60-port window in 15000-15999 that is free now (not the default 15600, which people use by hand). */
async function freeBasePort(): Promise<number> {
  for (let base = 15000; base + PORT_SPAN - 1 <= 15999; base += PORT_SPAN) {
    if (base <= DEFAULT_BASE_PORT && DEFAULT_BASE_PORT < base + PORT_SPAN) continue;
    if ((await takenPorts(layoutPorts(drillLayout(base, "/w")))).length === 0) return base;
  }
  throw new Error("no free 60-port window in 15000-15999");
}

describe("drill: a real quick drill, every scenario once", function () {
  // The project default (.mocharc) is 2 minutes; the drill takes about 2-4 minutes on 2 cores.
  this.timeout(900_000);
  let report: DrillReport;
  let code: number;
  let stderr: string;
  let basePort: number;

  before(async function () {
    if (missingBinaries().length > 0 && !process.env.CI) {
      this.skip(); // Outside CI without the packages; CI installs them and must run this.
    }
    // Every scenario (the default), one run each: about two minutes on 2 cores.
    basePort = await freeBasePort();
    const r = runCli(["drill", "--runs", "1", "--json", "--base-port", String(basePort)]);
    code = r.code;
    stderr = r.stderr;
    try {
      report = JSON.parse(r.stdout) as DrillReport;
    } catch {
      throw new Error(`drill printed no report (exit ${code}): ${stderr.slice(-3000)}`);
    }
    if (!Array.isArray(report.runs))
      throw new Error(
        `drill did not run (exit ${code}): ${r.stdout.slice(0, 2000)} ${stderr.slice(-2000)}`,
      );
  });

  it("runs every scenario without error and meets the objectives (exit 0)", () => {
    expect(report.runs.map((r) => r.scenario)).to.deep.equal([...SCENARIOS]);
    for (const r of report.runs)
      expect(r.error, `${r.scenario}: ${r.error}\n${stderr}`).to.equal(undefined);
    for (const s of report.summaries)
      expect(s.verdict, `${s.scenario}: ${s.reasons.join("; ")}`).to.equal(
        s.scenario === "failback" ? "info" : "pass",
      );
    expect(code, stderr).to.equal(0);
    expect(report.patroniVersion).to.match(/^\d+\.\d+\.\d+/);
  });

  it("runs the deployed image's Patroni major.minor and PostgreSQL major, and says so in the header", () => {
    expect(majorMinor(report.patroniVersion)).to.equal(majorMinor(DEPLOYED.patroni));
    expect(String(report.postgresMajor)).to.equal(DEPLOYED.postgres.split(".")[0]);
    expect(formatReport(report).split("\n")[0]).to.include(
      `Patroni ${report.patroniVersion}, PostgreSQL ${report.postgresMajor}; deployed image ${DEPLOYED.image}: Patroni ${DEPLOYED.patroni}`,
    );
  });

  it("runs with the rendered timing, not one Patroni adjusted (GET /config read back)", () => {
    for (const name of ["node-failover", "node-drain"]) {
      const r = report.runs.find((x) => x.scenario === name)!;
      const c = r.checks.find((x) => x.name.startsWith("effective timing"));
      expect(c?.ok, `${name}: ${c?.detail}`).to.equal(true);
      expect(r.measures.ttl).to.equal(report.settings.postgres.ttl);
      expect(r.measures.loopWait).to.equal(report.settings.postgres.loopWait);
      expect(r.measures.retryTimeout).to.equal(report.settings.postgres.retryTimeout);
    }
  });

  it("drains the leader (SIGTERM) faster than a kill -9 fails it over, nothing lost", () => {
    const nf = report.runs.find((r) => r.scenario === "node-failover")!;
    const nd = report.runs.find((r) => r.scenario === "node-drain")!;
    expect(nd.lostWrites).to.equal(0);
    expect(
      nd.checks.every((c) => c.ok),
      JSON.stringify(nd.checks),
    ).to.equal(true);
    // kill -9 waits for the key to expire (ttl); a drain releases it.
    expect(nd.rtoSeconds!).to.be.lessThan(nf.rtoSeconds!);
    expect(nf.measures.boundSeconds).to.equal(
      report.settings.postgres.ttl + report.settings.postgres.loopWait,
    );
    expect(nd.measures.boundSeconds).to.equal(report.settings.postgres.loopWait);
  });

  it("loses no acknowledged write in a synchronous node failover, and the old leader rejoins", () => {
    const nf = report.runs.find((r) => r.scenario === "node-failover")!;
    expect(nf.measures.synchronousMode).to.equal(true);
    expect(nf.acknowledgedWrites).to.be.greaterThan(50);
    expect(nf.lostWrites).to.equal(0);
    expect(nf.rpoSeconds).to.equal(0);
    expect(nf.rtoSeconds).to.be.greaterThan(0);
    expect(nf.checks.find((c) => c.name.startsWith("old leader rejoined"))?.ok).to.equal(true);
  });

  it("measures the switchover's write pause with nothing lost", () => {
    const sw = report.runs.find((r) => r.scenario === "switchover")!;
    expect(sw.rtoSeconds).to.be.greaterThan(0);
    expect(sw.lostWrites).to.equal(0);
    expect(
      sw.checks.every((c) => c.ok),
      JSON.stringify(sw.checks),
    ).to.equal(true);
  });

  it("measures the Redis failover through Sentinel", () => {
    const rf = report.runs.find((r) => r.scenario === "redis-failover")!;
    expect(rf.rtoSeconds).to.be.greaterThan(0);
    expect(rf.measures.newMasterPort).to.not.equal(basePort + 40);
    expect(
      rf.checks.every((c) => c.ok),
      JSON.stringify(rf.checks),
    ).to.equal(true);
  });

  it("restores the backups and the point-in-time restore stops before the destructive statement", () => {
    const br = report.runs.find((r) => r.scenario === "backup-restore")!;
    const check = (prefix: string) => br.checks.find((c) => c.name.startsWith(prefix));
    expect(
      check("PITR stops before the destructive statement")?.ok,
      JSON.stringify(br.checks),
    ).to.equal(true);
    expect(check("PITR has no write committed after the target")?.ok).to.equal(true);
    expect(check("PITR has every write committed before the target")?.ok).to.equal(true);
    expect(check("pgbackrest verify")?.ok).to.equal(true);
    expect(br.measures.rowsBefore).to.not.equal(br.measures.rowsAfterDestructive);
    expect(br.measures.restoreSpeedup).to.be.greaterThan(0);
  });

  it("promotes the DR site by removing standby_cluster", () => {
    const rg = report.runs.find((r) => r.scenario === "region-failover")!;
    expect(rg.measures.rtoFromCrashSeconds).to.be.at.least(
      rg.measures.rtoFromDecisionSeconds as number,
    );
    expect(rg.checks.every((c) => c.ok)).to.equal(true);
  });

  it("fails back: the old primary site rejoins as a standby, never takes a write, nothing lost", () => {
    const fb = report.runs.find((r) => r.scenario === "failback")!;
    expect(
      fb.checks.every((c) => c.ok),
      JSON.stringify(fb.checks),
    ).to.equal(true);
    expect(fb.measures.fenceProbes).to.be.greaterThan(0);
    expect(fb.measures.writesAcceptedByOldSite).to.equal(0);
    expect(fb.lostWrites).to.equal(0);
  });

  it("leaves nothing behind: no process, ports free, work directory removed", async () => {
    expect(report.leftoverPids).to.deep.equal([]);
    expect(report.workDirRemoved).to.equal(true);
    expect(fs.existsSync(report.workDir)).to.equal(false);
    expect(processesUnder(report.workDir)).to.deep.equal([]);
    expect(await takenPorts(layoutPorts(drillLayout(basePort, report.workDir)))).to.deep.equal([]);
  });
});
