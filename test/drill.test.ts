/** The drill's pure parts (statistics, verdicts, scenario selection, layout, RESP) and its preconditions. */
import { expect } from "chai";
import * as fc from "fast-check";
import * as net from "node:net";
import { checkPreconditions } from "../drill/environment";
import { drillLayout, layoutPorts, PORT_SPAN, validBasePort } from "../drill/layout";
import { encodeCommand, parseReply } from "../drill/resp";
import { lossOf } from "../drill/scenarios/common";
import {
  BASELINE,
  judge,
  ratio,
  rpoSeconds,
  type RunResult,
  SCENARIOS,
  selectScenarios,
  summarize,
} from "../drill/stats";
import { portFree, takenPorts } from "../drill/system";
import { isConfigError } from "../components/topology/errors";
import { runCli } from "./support/project";

const objectives = {
  node: { rtoSeconds: 30, rpoSeconds: 0, rto: "30s", rpo: "0s" },
  region: { rtoSeconds: 900, rpoSeconds: 60, rto: "15m", rpo: "1m" },
};

function run(over: Partial<RunResult>): RunResult {
  return { scenario: "node-failover", run: 1, measures: {}, checks: [], ...over };
}

describe("drill: statistics", () => {
  it("summarizes min, median (mean of the middle two when even) and max", () => {
    expect(summarize([3, 1, 2])).to.deep.equal({ min: 1, median: 2, max: 3, n: 3 });
    expect(summarize([4, 1, 3, 2])).to.deep.equal({ min: 1, median: 2.5, max: 4, n: 4 });
    expect(summarize([])).to.equal(undefined);
  });

  it("keeps min <= median <= max for any sample", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        (xs) => {
          const s = summarize(xs)!;
          expect(s.min).to.be.at.most(s.median);
          expect(s.median).to.be.at.most(s.max);
          expect(s.n).to.equal(xs.length);
        },
      ),
    );
  });

  it("RPO is the age of the oldest lost acknowledged write at the failure, 0 when none is lost", () => {
    expect(rpoSeconds([], 10_000)).to.equal(0);
    expect(rpoSeconds([9_500, 9_800], 10_000)).to.equal(0.5);
  });

  it("counts acknowledged writes missing afterwards", () => {
    const acks = [1, 2, 3, 4].map((seq) => ({ seq, ackedAt: seq * 100 }));
    const l = lossOf(acks, new Set([1, 2, 4]), 500);
    expect(l.lost.map((a) => a.seq)).to.deep.equal([3]);
    expect(l.rpoSeconds).to.equal(0.2);
    expect(lossOf(acks, new Set([1, 2, 3, 4]), 500).lost).to.have.length(0);
  });

  it("ratio rounds to two decimals and refuses a zero divisor", () => {
    expect(ratio(10, 3)).to.equal(3.33);
    expect(ratio(1, 0)).to.equal(undefined);
    expect(ratio(undefined, 2)).to.equal(undefined);
  });
});

describe("drill: verdicts against the network's objectives", () => {
  it("passes runs within the RTO that lost nothing", () => {
    const v = judge(
      "node-failover",
      [run({ rtoSeconds: 9.5, rpoSeconds: 0, lostWrites: 0 })],
      objectives,
    );
    expect(v.verdict).to.equal("pass");
    expect(v.objective).to.deep.equal({ name: "node", rto: "30s", rpo: "0s" });
  });

  it("fails a run above the RTO, and any lost write when the RPO is 0", () => {
    expect(judge("node-failover", [run({ rtoSeconds: 31 })], objectives).verdict).to.equal("fail");
    const lost = judge(
      "switchover",
      [run({ scenario: "switchover", rtoSeconds: 1, lostWrites: 1, rpoSeconds: 0.001 })],
      objectives,
    );
    expect(lost.verdict).to.equal("fail");
    expect(lost.reasons.join("\n")).to.match(/1 acknowledged writes lost/);
  });

  it("judges region failover against the region objective (an RPO in seconds)", () => {
    const ok = judge(
      "region-failover",
      [run({ scenario: "region-failover", rtoSeconds: 2, lostWrites: 3, rpoSeconds: 0.05 })],
      objectives,
    );
    expect(ok.verdict).to.equal("pass");
    const late = judge(
      "region-failover",
      [run({ scenario: "region-failover", rtoSeconds: 2, rpoSeconds: 61 })],
      objectives,
    );
    expect(late.verdict).to.equal("fail");
  });

  it("fails on a failed check and errors on an errored run", () => {
    const c = judge(
      "node-failover",
      [run({ rtoSeconds: 1, checks: [{ name: "old leader rejoined", ok: false }] })],
      objectives,
    );
    expect(c.verdict).to.equal("fail");
    expect(judge("node-failover", [run({ error: "boom" })], objectives).verdict).to.equal("error");
    expect(judge("node-failover", [], objectives).verdict).to.equal("error");
  });

  it("judges failback by its checks alone", () => {
    const ok = judge(
      "failback",
      [run({ scenario: "failback", rtoSeconds: 5, lostWrites: 0 })],
      objectives,
    );
    expect(ok.verdict).to.equal("info");
    const bad = judge(
      "failback",
      [
        run({
          scenario: "failback",
          checks: [{ name: "never took a write after the fence", ok: false }],
        }),
      ],
      objectives,
    );
    expect(bad.verdict).to.equal("fail");
  });

  it("reports the baseline without a verdict on the objective", () => {
    const b = judge(BASELINE, [run({ scenario: BASELINE, rtoSeconds: 40 })], objectives);
    expect(b.verdict).to.equal("info");
    expect(b.rto?.median).to.equal(40);
  });
});

describe("drill: scenario selection", () => {
  it("runs every scenario by default, the ones that consume the primary site last", () => {
    const all = selectScenarios([], false);
    expect(all).to.deep.equal([...SCENARIOS]);
    expect(all.slice(-2)).to.deep.equal(["region-failover", "failback"]);
  });

  it("keeps the safe order whatever the order asked, and adds the baseline after node-failover", () => {
    expect(selectScenarios(["region-failover", "node-failover"], true)).to.deep.equal([
      "node-failover",
      BASELINE,
      "region-failover",
    ]);
    expect(selectScenarios(["switchover"], true)).to.deep.equal([BASELINE, "switchover"]);
  });

  it("refuses an unknown scenario, naming the valid ones", () => {
    expect(() => selectScenarios(["node-failure"], false)).to.throw(/node-failure.*node-failover/);
  });
});

describe("drill: layout and ports", () => {
  it("uses distinct ports inside 15000-15999 for any valid base", () => {
    fc.assert(
      fc.property(fc.integer({ min: 15000, max: 15999 - PORT_SPAN + 1 }), (base) => {
        const ports = layoutPorts(drillLayout(base, "/w")).map((p) => p.port);
        expect(new Set(ports).size).to.equal(ports.length);
        for (const p of ports) {
          expect(p).to.be.within(15000, 15999);
          expect(p).to.be.within(base, base + PORT_SPAN - 1);
        }
      }),
    );
    expect(validBasePort(14999)).to.equal(false);
    expect(validBasePort(15999 - PORT_SPAN + 2)).to.equal(false);
    expect(() => drillLayout(5432, "/w")).to.throw(/15000-15999/);
  });

  it("detects a port taken by a real listening socket and names it", async () => {
    const layout = drillLayout(15900, "/w");
    const busy = layout.etcd.clientPort;
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen({ port: busy, host: "127.0.0.1" }, () => r()));
    try {
      expect(await portFree(busy)).to.equal(false);
      const taken = await takenPorts(layoutPorts(layout));
      expect(taken.map((t) => t.port)).to.include(busy);
      let err: unknown;
      try {
        await checkPreconditions(layout);
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err)).to.equal(true);
      expect(
        (err as Error).message + JSON.stringify((err as { problems: unknown }).problems),
      ).to.include(`port ${busy} (etcd client)`);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    expect(await portFree(busy)).to.equal(true);
  });

  it("the CLI refuses to start when a port is taken (exit 2, the port named)", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen({ port: 15910, host: "127.0.0.1" }, () => r()));
    try {
      const r = runCli(["drill", "--scenario", "node-failover", "--base-port", "15900"]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.include("port 15910");
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it("the CLI rejects an unknown scenario and a base port outside the range (exit 2)", () => {
    const a = runCli(["drill", "--scenario", "nope"]);
    expect(a.code).to.equal(2);
    expect(a.stderr).to.include("unknown scenario");
    const b = runCli(["drill", "--base-port", "5432"]);
    expect(b.code).to.equal(2);
    expect(b.stderr).to.include("15000-15999");
  });
});

describe("drill: RESP client codec", () => {
  it("encodes commands as arrays of bulk strings", () => {
    expect(encodeCommand(["SET", "k", 1]).toString()).to.equal(
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n",
    );
    expect(encodeCommand(["ECHO", "héllo"]).toString()).to.equal(
      "*2\r\n$4\r\nECHO\r\n$6\r\nhéllo\r\n",
    );
  });

  it("parses replies, waiting for complete ones", () => {
    expect(parseReply(Buffer.from("+OK\r\n"))?.value).to.equal("OK");
    expect(parseReply(Buffer.from(":42\r\n"))?.value).to.equal(42);
    expect(parseReply(Buffer.from("$-1\r\n"))?.value).to.equal(null);
    expect((parseReply(Buffer.from("-READONLY no\r\n"))?.value as Error).message).to.equal(
      "READONLY no",
    );
    expect(
      parseReply(Buffer.from("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n15641\r\n"))?.value,
    ).to.deep.equal(["127.0.0.1", "15641"]);
    expect(parseReply(Buffer.from("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n156"))).to.equal(undefined);
    expect(parseReply(Buffer.from("$5\r\nab"))).to.equal(undefined);
  });

  it("round-trips any bulk string", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (args) => {
        const r = parseReply(encodeCommand(args));
        expect(r?.value).to.deep.equal(args);
      }),
    );
  });
});
