import { expect } from "chai";
import { ConfigError } from "../components/topology/errors";
import { MemoryDriver } from "../failover/memory";
import {
  runFailback,
  runFailover,
  type StepRecord,
  type SwapEnvironment,
} from "../failover/orchestrate";
import { parseNetwork } from "../components/topology/load";
import { watchReturningSite } from "../failover/watch";
import { shippedNetworkText } from "./support/project";

function env(driver: MemoryDriver, text = shippedNetworkText()) {
  const written: string[] = [];
  const logged: StepRecord[] = [];
  const e: SwapEnvironment & { written: string[]; logged: StepRecord[] } = {
    driver,
    networkText: text,
    networkFile: "stacks/network.yaml",
    writeNetwork: async (t) => {
      written.push(t);
      return "/tmp/flipped-network.yaml";
    },
    log: (s) => logged.push(s),
    sleep: async () => {},
    catchUpTimeoutMs: 50,
    pollMs: 1,
    written,
    logged,
  };
  return e;
}

const ops = (d: MemoryDriver) =>
  d.calls.filter((c) => c.op !== "probe").map((c) => `${c.op} ${c.site}`);

describe("failover orchestration (in-memory driver)", () => {
  it("fences the old primary before promoting the target, flips the file, then verifies writes", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.write("primary");
    const e = env(d);
    const r = await runFailover(e, { target: "dr" });
    expect(r.outcome, r.stoppedBecause).to.equal("completed");
    expect(ops(d)).to.deep.equal([
      "fence primary",
      "promote dr",
      "updateStack dr",
      "verifyWrites dr",
    ]);
    expect(r.steps.map((s) => `${s.step}:${s.status}`)).to.deep.equal([
      "preflight:ok",
      "fence:ok",
      "catch-up:ok",
      "promote:ok",
      "flip-config:ok",
      "update-stack:ok",
      "verify-writes:ok",
    ]);
    // Never two writable primaries.
    expect(d.splitBrain).to.equal(undefined);
    // The file written makes dr primary.
    expect(e.written).to.have.length(1);
    const flipped = parseNetwork(e.written[0]);
    expect(flipped.sites.find((s) => s.role === "primary")!.name).to.equal("dr");
    expect(r.configEdits.map((x) => `${x.path} ${x.from}->${x.to}`)).to.deep.equal([
      "sites[0].role primary->standby",
      "sites[1].role standby->primary",
    ]);
    // The old primary cannot take writes any more; the new one can.
    expect(d.write("primary")).to.equal(false);
    expect(d.write("dr")).to.equal(true);
  });

  it("times every step, in order, and logs each as it finishes", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    const e = env(d);
    const r = await runFailover(e, { target: "dr" });
    expect(e.logged).to.deep.equal(r.steps);
    let prev = -1;
    for (const s of r.steps) {
      expect(Date.parse(s.startedAt), s.step).to.be.a("number").and.not.NaN;
      expect(s.durationMs, s.step).to.be.at.least(0);
      expect(s.offsetMs, s.step).to.be.at.least(prev);
      prev = s.offsetMs;
    }
    expect(r.durationMs).to.be.at.least(r.steps[r.steps.length - 1].offsetMs);
  });

  it("refuses without changing anything when the target's replication lag exceeds the RPO", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.lagSeconds = 120; // region RPO is 1m
    const e = env(d);
    const r = await runFailover(e, { target: "dr" });
    expect(r.outcome).to.equal("refused");
    expect(r.stoppedBecause).to.match(/replication-lag: replication lag 2m \(0 bytes\) > RPO 1m/);
    expect(ops(d)).to.deep.equal([]);
    expect(e.written).to.deep.equal([]);
    expect(r.steps.map((s) => `${s.step}:${s.status}`)).to.deep.equal(["preflight:refused"]);
  });

  it("refuses when the last backup is older than the RPO, or unknown", async () => {
    for (const age of [3600, undefined]) {
      const d = MemoryDriver.healthy("primary", ["dr"]);
      d.sites.dr.lastBackupAgeSeconds = age;
      const r = await runFailover(env(d), { target: "dr" });
      expect(r.outcome).to.equal("refused");
      expect(r.preflight.find((c) => c.name === "backup-age")!.ok).to.equal(false);
      expect(ops(d)).to.deep.equal([]);
    }
  });

  it("refuses a target that is unhealthy or already writable", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.healthy = false;
    expect((await runFailover(env(d), { target: "dr" })).outcome).to.equal("refused");
    const d2 = MemoryDriver.healthy("primary", ["dr"]);
    d2.sites.dr.role = "primary";
    const r2 = await runFailover(env(d2), { target: "dr" });
    expect(r2.outcome).to.equal("refused");
    expect(r2.stoppedBecause).to.match(/target-is-standby/);
    expect(ops(d2)).to.deep.equal([]);
  });

  it("--force proceeds over failed checks and records the reason", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.lagSeconds = 120;
    const r = await runFailover(env(d), { target: "dr", force: true, reason: "drill 42" });
    expect(r.outcome).to.equal("completed");
    expect(r.forced).to.equal(true);
    expect(r.reason).to.equal("drill 42");
    expect(r.steps[0].status).to.equal("forced");
    expect(r.steps[0].detail).to.match(/--force: drill 42/);
  });

  it("--force without --reason is bad input", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    let err: unknown;
    try {
      await runFailover(env(d), { target: "dr", force: true });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).problems[0].path).to.equal("--reason");
    expect(ops(d)).to.deep.equal([]);
  });

  it("an unreachable old primary stops the failover before promotion unless --force", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.primary.reachable = false;
    d.sites.dr.lagSeconds = 5; // last known; the primary cannot be asked
    const e = env(d);
    const r = await runFailover(e, { target: "dr" });
    expect(r.outcome).to.equal("refused");
    expect(r.stoppedBecause).to.match(/fencing of primary could not be confirmed: unreachable/);
    expect(ops(d)).to.deep.equal(["fence primary"]);
    expect(e.written).to.deep.equal([]);

    const d2 = MemoryDriver.healthy("primary", ["dr"]);
    d2.sites.primary.reachable = false;
    d2.sites.dr.lagSeconds = 5;
    const r2 = await runFailover(env(d2), {
      target: "dr",
      force: true,
      reason: "us-east-1 down",
    });
    expect(r2.outcome, r2.stoppedBecause).to.equal("completed");
    const fence = r2.steps.find((s) => s.step === "fence")!;
    expect(fence.status).to.equal("forced");
    expect(fence.detail).to.match(/could not be confirmed.*--force: us-east-1 down/);
    expect(r2.steps.find((s) => s.step === "catch-up")!.status).to.equal("skipped");
    expect(ops(d2)).to.deep.equal([
      "fence primary",
      "promote dr",
      "updateStack dr",
      "verifyWrites dr",
    ]);
  });

  it("waits for the target to receive the fenced primary's last WAL; refuses when it does not", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.holdBackBytes = 500; // never catches up
    d.sites.dr.lagSeconds = 1;
    d.write("primary");
    d.write("primary");
    d.write("primary");
    const r = await runFailover(env(d), { target: "dr" });
    expect(r.outcome).to.equal("refused");
    expect(r.stoppedBecause).to.match(/did not catch up.*\(300 bytes missing\)/);
    expect(ops(d)).to.deep.equal(["fence primary"]);
    expect(d.sites.dr.role).to.equal("standby");
  });

  it("reports a failed write verification as a failed failover", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.fail.verifyWrites = "ERROR: cannot execute INSERT in a read-only transaction";
    const r = await runFailover(env(d), { target: "dr" });
    expect(r.outcome).to.equal("failed");
    expect(r.stoppedBecause).to.match(/writes on dr failed: ERROR: cannot execute INSERT/);
    expect(r.steps[r.steps.length - 1]).to.include({ step: "verify-writes", status: "failed" });
  });

  it("stops after a failed promotion without touching the topology file", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.dr.fail.promote = "HTTP 503 from PATCH /config";
    const e = env(d);
    const r = await runFailover(e, { target: "dr" });
    expect(r.outcome).to.equal("failed");
    expect(e.written).to.deep.equal([]);
    expect(ops(d)).to.deep.equal(["fence primary", "promote dr"]);
  });

  it("rejects bad targets as input errors naming --to and the field", async () => {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    const cases: [string, RegExp, RegExp][] = [
      ["nowhere", /no site named "nowhere"/, /^--to$/],
      ["primary", /--to primary: site primary is already the primary/, /^sites\[0\]\.role$/],
      ["west", /--to west: site west does not run postgres/, /^sites\[2\]\.services$/],
    ];
    for (const [target, message, path] of cases) {
      let err: unknown;
      try {
        await runFailover(env(d), { target });
      } catch (e) {
        err = e;
      }
      expect(err, target).to.be.instanceOf(ConfigError);
      const p = (err as ConfigError).problems[0];
      expect(p.message).to.match(message);
      expect(p.path).to.match(path);
    }
    expect(d.calls).to.deep.equal([]);
  });
});

describe("failback orchestration (in-memory driver)", () => {
  async function afterFailover() {
    const d = MemoryDriver.healthy("primary", ["dr"]);
    d.sites.primary.reachable = false;
    d.sites.dr.lagSeconds = 5;
    const e = env(d);
    const r = await runFailover(e, { target: "dr", force: true, reason: "region lost" });
    expect(r.outcome).to.equal("completed");
    d.write("dr");
    return { d, text: e.written[0] };
  }

  it("brings the old primary back as a standby, fencing it first when it still takes writes", async () => {
    const { d, text } = await afterFailover();
    // The old primary comes back as it was when the region was lost: a writable primary.
    d.sites.primary.reachable = true;
    d.calls.length = 0;
    const r = await runFailback(env(d, text), { site: "primary" });
    expect(r.outcome, r.stoppedBecause).to.equal("completed");
    expect(ops(d)).to.deep.equal(["fence primary", "rejoin primary", "updateStack primary"]);
    expect(d.sites.primary).to.include({ role: "standby", follows: "dr" });
    expect(d.write("primary")).to.equal(false);
    expect(r.configEdits).to.deep.equal([]);
  });

  it("skips the fence when the returning site is already read-only", async () => {
    const { d, text } = await afterFailover();
    d.sites.primary.reachable = true;
    d.sites.primary.role = "none";
    d.calls.length = 0;
    const r = await runFailback(env(d, text), { site: "primary", reseed: "basebackup" });
    expect(r.outcome).to.equal("completed");
    expect(r.steps.find((s) => s.step === "fence")!.status).to.equal("skipped");
    expect(r.steps.find((s) => s.step === "rejoin")!.detail).to.match(/basebackup/);
  });

  it("--swap-back demotes the current primary before promoting the returning site", async () => {
    const { d, text } = await afterFailover();
    d.sites.primary.reachable = true;
    d.calls.length = 0;
    const e = env(d, text);
    const r = await runFailback(e, { site: "primary", swapBack: true });
    expect(r.outcome, r.stoppedBecause).to.equal("completed");
    expect(ops(d)).to.deep.equal([
      "fence primary",
      "rejoin primary",
      "updateStack primary",
      "fence dr",
      "promote primary",
      "updateStack primary",
      "verifyWrites primary",
      "rejoin dr",
      "updateStack dr",
    ]);
    // The returning site was a writable primary when it came back; from its fence on, never two.
    const fenced = d.calls.findIndex((c) => c.op === "fence");
    expect(d.calls.slice(fenced).filter((c) => c.writable.length > 1)).to.deep.equal([]);
    // Flipped back: the original text, byte for byte.
    expect(e.written).to.deep.equal([shippedNetworkText()]);
    expect(d.sites.dr).to.include({ role: "standby", follows: "primary" });
  });

  it("refuses when the current primary is not writable, and rejects a primary as --site", async () => {
    const { d, text } = await afterFailover();
    d.sites.primary.reachable = true;
    d.sites.dr.reachable = false;
    d.calls.length = 0;
    const r = await runFailback(env(d, text), { site: "primary" });
    expect(r.outcome).to.equal("refused");
    expect(r.stoppedBecause).to.match(/primary-writable/);
    expect(ops(d)).to.deep.equal([]);
    let err: unknown;
    try {
      await runFailback(env(d, text), { site: "dr" });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).to.include({ path: "--site" });
  });
});

describe("watching a returning site", () => {
  function clocked(d: MemoryDriver, script: (probe: number) => void) {
    let t = 0;
    let n = 0;
    const probe = d.probe.bind(d);
    d.probe = async (site: string) => {
      script(n++);
      return probe(site);
    };
    return { clock: () => t, sleep: async (ms: number) => void (t += ms) };
  }

  it("records a site that comes back writable (not fenced in its DCS)", async () => {
    const d = MemoryDriver.healthy("dr", ["primary"]);
    d.sites.primary.reachable = false;
    const c = clocked(d, (n) => {
      if (n === 3) Object.assign(d.sites.primary, { reachable: true, role: "primary" });
      if (n === 6) Object.assign(d.sites.primary, { role: "standby", follows: "dr" });
    });
    const w = await watchReturningSite(d, "primary", { ...c, pollMs: 100, settleMs: 500 });
    expect(w.roles).to.deep.equal(["unreachable", "primary", "standby"]);
    expect(w.writableAtMs).to.deep.equal([300, 400, 500]);
    expect(w.settledAsStandby).to.equal(true);
  });

  it("a fenced site is never writable; a site that never settles times out", async () => {
    const d = MemoryDriver.healthy("dr", ["primary"]);
    d.sites.primary.reachable = false;
    const c = clocked(d, (n) => {
      if (n === 2) Object.assign(d.sites.primary, { reachable: true, role: "none" });
      if (n === 4) Object.assign(d.sites.primary, { role: "standby" });
    });
    const w = await watchReturningSite(d, "primary", { ...c, pollMs: 100, settleMs: 300 });
    expect(w).to.include({ settledAsStandby: true, durationMs: 700 });
    expect(w.writableAtMs).to.deep.equal([]);
    const d2 = MemoryDriver.healthy("dr", ["primary"]);
    d2.sites.primary.reachable = false;
    const w2 = await watchReturningSite(d2, "primary", {
      ...clocked(d2, () => {}),
      pollMs: 100,
      timeoutMs: 1000,
    });
    expect(w2).to.include({ settledAsStandby: false, durationMs: 1000 });
    expect(w2.roles).to.deep.equal(["unreachable"]);
  });
});
