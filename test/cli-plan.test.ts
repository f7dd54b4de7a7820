import { expect } from "chai";
import { runCli, tempFile, shippedNetworkText } from "./support/project";

function noStackTrace(text: string): void {
  expect(text).to.not.match(/^\s+at .+\(.*:\d+:\d+\)$/m);
}

describe("drstack plan (CLI)", () => {
  it("plans all shipped stacks and prints tree, counts and the exact topology summary", () => {
    const r = runCli(["plan", "--all"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Stack primary \(stacks\/Pulumi\.primary\.yaml\): \d+ resources/);
    expect(r.stdout).to.match(/└─ drstack:site:DrSite {2}primary/);
    expect(r.stdout).to.match(/Resources by type:/);
    expect(r.stdout).to.match(/aws\/us-east-1\s+20\/80\s+1\/4\s+25%/);
    expect(r.stdout).to.match(
      /Topology example-network: 4 sites, 8 validators, total voting power 80/,
    );
  });

  it("prints a stable JSON document with --json", () => {
    const r = runCli(["plan", "--stack", "primary", "--stack", "dr", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).to.have.keys(["drstackPlan", "project", "network", "topology", "stacks"]);
    expect(doc.drstackPlan).to.equal(1);
    expect(doc.stacks.map((s: any) => s.stack)).to.deep.equal(["primary", "dr"]);
    const stack = doc.stacks[0];
    expect(stack).to.include.keys([
      "stack",
      "file",
      "site",
      "resourceCount",
      "counts",
      "stackReferences",
      "outputs",
      "resources",
    ]);
    expect(stack.resourceCount).to.equal(stack.resources.length);
    for (const res of stack.resources)
      expect(res).to.have.keys([
        "urn",
        "type",
        "name",
        "custom",
        "parent",
        "provider",
        "id",
        "dependencies",
        "secretInputs",
        "inputs",
        "outputs",
      ]);
    expect(doc.topology.regions[0]).to.include({ share: "1/4", percent: "25%", power: "20" });
  });

  it("shows the unsafe 3-region example at 40%", () => {
    const r = runCli(["plan", "--all", "--network", "examples/unsafe-3-region.yaml"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/aws\/us-east-1\s+2\/5\s+2\/5\s+40%/);
  });

  it("exits 2 with every problem, the field path and line, and no stack trace, for a bad topology", () => {
    const bad = shippedNetworkText()
      .replace("zones: [us-west-2a, us-west-2b]", "zones: [us-west-2a]")
      .replace(
        "role: standby\n    cloud: gcp\n    region: europe-west1",
        "role: stanby\n    cloud: gcp\n    region: europe-west1",
      );
    const file = tempFile("network.yaml", bad);
    const r = runCli(["plan", "--all", "--network", file]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/sites\[2\]\.zones: need at least 2 zones, got 1/);
    expect(r.stderr).to.match(
      /network\.yaml:\d+: sites\[1\]\.role: must be one of "primary", "standby", got "stanby" \(fix: did you mean "standby"\?\)/,
    );
    noStackTrace(r.stderr);
  });

  it("exits 2 with JSON problems when --json is given", () => {
    const file = tempFile("network.yaml", "name: x\n");
    const r = runCli(["plan", "--all", "--network", file, "--json"]);
    expect(r.code).to.equal(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.problems.map((p: any) => p.path)).to.include.members([
      "objectives",
      "sites",
      "validators",
    ]);
  });

  it("exits 2 for a typo in a stack's config, naming the key and the fix", () => {
    const r = runCli(["plan", "--stack", "nosuch"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/no stack "nosuch" \(fix: use one of: asia, dr, primary, west\)/);
    noStackTrace(r.stderr);
  });

  it("follows the CLI conventions for usage errors and help", () => {
    expect(runCli(["plan"]).code).to.equal(2);
    expect(runCli(["plan", "--bogus"]).stderr).to.match(/Unknown option '--bogus'/);
    expect(runCli(["plan", "--all", "--stack", "dr"]).code).to.equal(2);
    const help = runCli(["plan", "--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/Usage: drstack plan/);
    expect(runCli(["--help"]).stdout).to.match(/plan\s+run the Pulumi program offline/);
    const unknown = runCli(["frobnicate"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/unknown command "frobnicate"/);
  });
});
