import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { flipRoles } from "../failover/flip";
import { projectRoot, runCli, shippedNetworkText, tempFile } from "./support/project";

function noStackTrace(text: string): void {
  expect(text).to.not.match(/^\s+at .+\(.*:\d+:\d+\)$/m);
}

describe("drstack failover / failback (CLI)", () => {
  it("failover --to dr --dry-run on the shipped example: diff, resource diff, steps; nothing changed", () => {
    const before = fs.readFileSync(path.join(projectRoot(), "stacks", "network.yaml"), "utf8");
    const r = runCli(["failover", "--to", "dr", "--dry-run"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Failover primary -> dr: dry run/);
    expect(r.stdout).to.include("--- a/stacks/network.yaml");
    expect(r.stdout).to.match(/^ {2}- {4}role: primary\n {2}\+ {4}role: standby$/m);
    expect(r.stdout).to.match(/^ {2}- {4}role: standby\n {2}\+ {4}role: primary$/m);
    // Resource diff per stack: dr's Patroni leaves standby mode (its config changes), the old
    // primary now follows dr; the validator-only sites only see the topology ConfigMap change.
    expect(r.stdout).to.match(/stack dr: \d+ to add, \d+ to delete, \d+ to update/);
    expect(r.stdout).to.match(/~ kubernetes:core\/v1:ConfigMap {2}dr-postgres-config {2}\[data/);
    expect(r.stdout).to.match(/stack west: 0 to add, 0 to delete, 1 to update/);
    expect(r.stdout).to.match(/~ kubernetes:core\/v1:ConfigMap {2}west-topology {2}\[data\]/);
    // Steps in order, fence before promote.
    const steps = [...r.stdout.matchAll(/^ +\d+\. (\S+)/gm)].map((m) => m[1]);
    expect(steps).to.deep.equal([
      "preflight",
      "fence",
      "catch-up",
      "promote",
      "flip-config",
      "update-stack",
      "verify-writes",
    ]);
    expect(fs.readFileSync(path.join(projectRoot(), "stacks", "network.yaml"), "utf8")).to.equal(
      before,
    );
  });

  it("failover --dry-run --json is a stable document", () => {
    const r = runCli(["failover", "--to", "dr", "--dry-run", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).to.include({
      drstackSwap: 1,
      dryRun: true,
      operation: "failover",
      from: "primary",
      to: "dr",
    });
    expect(doc.configEdits.map((e: any) => `${e.path}:${e.to}`)).to.deep.equal([
      "sites[0].role:standby",
      "sites[1].role:primary",
    ]);
    expect(doc.resourceDiff.map((d: any) => d.stack)).to.deep.equal([
      "primary",
      "dr",
      "west",
      "asia",
    ]);
    const dr = doc.resourceDiff.find((d: any) => d.stack === "dr");
    const patroniConfig = dr.changed.find((c: any) => c.name === "dr-postgres-config");
    expect(patroniConfig.keys).to.include("data");
    expect(doc.steps[1]).to.include({ step: "fence", site: "primary" });
    expect(doc.steps[3]).to.include({ step: "promote", site: "dr" });
    expect(doc.hazards).to.deep.equal([]);
  });

  it("failback --dry-run: without --swap-back no topology change, with it the flip back", () => {
    const flipped = tempFile("network.yaml", flipRoles(shippedNetworkText(), "dr").text);
    const r = runCli(["failback", "--site", "primary", "--dry-run", "--network", flipped]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Topology change \(.*\):\n {2}\(none\)/);
    expect(r.stdout).to.match(/stack primary: \d+ to add, \d+ to delete, \d+ to update/);
    const steps = [...r.stdout.matchAll(/^ +\d+\. (\S+) +\[(\w+)\]/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(steps).to.deep.equal([
      "preflight primary",
      "fence primary",
      "rejoin primary",
      "update-stack primary",
      "verify-standby primary",
    ]);
    const s = runCli([
      "failback",
      "--site",
      "primary",
      "--swap-back",
      "--dry-run",
      "--network",
      flipped,
    ]);
    expect(s.code, s.stderr).to.equal(0);
    expect(s.stdout).to.match(/^ {2}- {4}role: primary\n {2}\+ {4}role: standby$/m);
    const swap = [...s.stdout.matchAll(/^ +\d+\. (\S+) +\[(\w+)\]/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(swap.indexOf("fence dr")).to.be.greaterThan(-1);
    expect(swap.indexOf("fence dr")).to.be.lessThan(swap.indexOf("promote primary"));
    expect(swap.slice(-3)).to.deep.equal(["rejoin dr", "update-stack dr", "verify-standby dr"]);
  });

  it("bad input exits 2 naming the option or field, without a stack trace", () => {
    const cases: [string[], RegExp][] = [
      [
        ["failover", "--to", "nowhere", "--dry-run"],
        /--to: no site named "nowhere".*use one of: primary, dr, west, asia/,
      ],
      [
        ["failover", "--to", "primary", "--dry-run"],
        /sites\[0\]\.role: --to primary: site primary is already the primary/,
      ],
      [
        ["failover", "--to", "west", "--dry-run"],
        /sites\[2\]\.services: --to west: site west does not run postgres/,
      ],
      [["failover", "--dry-run"], /--to SITE/],
      [["failover", "--to", "dr", "--force"], /--force needs --reason/],
      [["failover", "--to", "dr", "--reason", "x"], /--reason is only used with --force/],
      // Live (a dry run shows it as after a failover): refused before the confirmation question.
      [["failback", "--site", "primary"], /--site: site primary is the primary/],
      [
        ["failback", "--site", "west", "--dry-run"],
        /sites\[2\]\.services: --site west: site west does not run postgres/,
      ],
      [
        ["failback", "--site", "dr", "--reseed", "magic", "--dry-run"],
        /--reseed must be one of rewind, basebackup/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(" ")).to.match(message);
      noStackTrace(r.stderr);
    }
  });

  it("without a driver (no Pulumi CLI, no --sites) a real run is refused as exit 2 before contacting anything", () => {
    const file = tempFile("network.yaml", shippedNetworkText());
    const r = runCli(["failover", "--to", "dr", "--network", file, "--yes"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(
      /--driver: no site driver available.*use --dry-run|run with --dry-run/,
    );
    expect(fs.readFileSync(file, "utf8")).to.equal(shippedNetworkText());
  });

  it("--driver local checks the --sites file and names the bad field", () => {
    const sites = tempFile(
      "sites.json",
      JSON.stringify({ sites: { dr: { rest: ["ftp://x"] }, mars: {} } }),
    );
    const r = runCli(["failover", "--to", "dr", "--driver", "local", "--sites", sites, "--yes"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/sites\.dr\.rest: must list the members' REST base URLs/);
    expect(r.stderr).to.match(/sites\.mars: no site named mars in the topology/);
  });

  it("failover --help documents the steps and options", () => {
    const r = runCli(["failover", "--help"]);
    expect(r.code).to.equal(0);
    for (const o of ["--to", "--dry-run", "--force", "--reason", "--driver", "--sites", "--json"])
      expect(r.stdout).to.include(o);
    expect(runCli(["--help"]).stdout).to.match(/failover .*\n.*failback .*\n.*runbook /);
  });
});
