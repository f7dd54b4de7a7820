import { expect } from "chai";
import { runCli, shippedNetworkText, tempFile } from "./support/project";

describe("drstack analyze (CLI)", function () {
  this.timeout(300_000);

  it("passes the shipped example: a table per domain, the formulas, exit 0", () => {
    const r = runCli(["analyze"]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.match(
      /^zone aws\/us-east-1a\s+70\/80 online, ok\s+patroni-failover -> primary\s+yes/m,
    );
    expect(r.stdout).to.match(
      /^region aws\/us-east-1\s+60\/80 online, ok\s+stack-swap -> dr\s+yes/m,
    );
    expect(r.stdout).to.include("largest cloud: aws 40 = 1/2 (50%)");
    expect(r.stdout).to.match(
      /node RTO 30s: met \(ttl \d+ \+ loop_wait \d+ \+ retry_timeout \d+ = \d+s/,
    );
    expect(r.stdout).to.include("Warnings (not failing):");
    expect(r.stdout).to.include("No problems");
  });

  it("--json is the analysis with exact shares as fractions; --markdown is a PR comment", () => {
    const j = runCli(["analyze", "--json"]);
    expect(j.code, j.stderr).to.equal(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.network).to.equal("example-network");
    expect(doc.problems).to.deep.equal([]);
    const region = doc.domains.find(
      (d: { domain: { name: string } }) => d.domain.name === "aws/us-east-1",
    );
    expect(region.consensus).to.deep.include({
      lost: "20",
      total: "80",
      lostShare: "1/4",
      halts: false,
    });
    expect(region.postgres.writer).to.equal("dr");
    const m = runCli(["analyze", "--markdown"]);
    expect(m.code).to.equal(0);
    expect(m.stdout).to.match(/^### drstack analyze: example-network/);
    expect(m.stdout).to.include("| DOMAIN | CONSENSUS |");
  });

  it("exits 1 on the unsafe 3-region example: regions and sites whose loss halts consensus", () => {
    const r = runCli(["analyze", "--network", "examples/unsafe-3-region.yaml"]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.include(
      "region aws/us-east-1: its loss takes 2/5 of the voting power (>= 1/3): consensus halts",
    );
  });

  it("exits 1 when the declared objectives are tighter than the settings achieve", () => {
    const text = shippedNetworkText()
      .replace("node: { rto: 30s, rpo: 0s }", "node: { rto: 10s, rpo: 0s }")
      .replace("region: { rto: 15m, rpo: 1m }", "region: { rto: 5m, rpo: 1m }");
    const r = runCli(["analyze", "--network", tempFile("network.yaml", text)]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.match(
      /node RTO 10s missed \(ttl \d+ \+ loop_wait \d+ \+ retry_timeout \d+ = \d+s/,
    );
    expect(r.stdout).to.include(
      "region aws/us-east-1: region RTO 5m missed (decision 300s (assumed)",
    );
    // The stated assumptions move the region bound.
    const fast = runCli([
      "analyze",
      "--network",
      tempFile("network.yaml", text.replace("node: { rto: 10s", "node: { rto: 30s")),
      "--decision",
      "1m",
      "--stack-update",
      "2m",
    ]);
    expect(fast.code, fast.stdout).to.equal(0);
  });

  it("exits 2 on bad input, with no stack trace", () => {
    expect(runCli(["analyze", "--network", "no/such.yaml"]).code).to.equal(2);
    const d = runCli(["analyze", "--decision", "soon"]);
    expect(d.code).to.equal(2);
    expect(d.stderr).to.include("--decision");
    expect(runCli(["analyze", "--format", "html"]).code).to.equal(2);
    const bad = runCli(["analyze", "--network", tempFile("network.yaml", "name: x\nsites: []\n")]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.not.match(/^\s+at .+:\d+:\d+\)?$/m);
  });
});
