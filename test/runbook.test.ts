import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { flipRoles } from "../failover/flip";
import { buildRunbooks, RUNBOOK_SCENARIOS } from "../failover/runbook";
import { parseNetwork } from "../components/topology/load";
import { projectRoot, runCli, shippedNetworkText, tempFile } from "./support/project";
import { runbookSites } from "../cli/commands/runbook";

describe("runbooks", () => {
  const network = parseNetwork(shippedNetworkText());

  it("covers every scenario with its declared objective and commands for this topology", () => {
    const books = buildRunbooks(network, runbookSites(projectRoot(), network));
    expect(books.map((b) => b.scenario)).to.deep.equal([...RUNBOOK_SCENARIOS]);
    const by = Object.fromEntries(books.map((b) => [b.scenario, b]));
    expect(by.node.objective).to.deep.equal({ rto: "30s", rpo: "0s" });
    expect(by.region.objective).to.deep.equal({ rto: "15m", rpo: "1m" });
    expect(by.corruption.objective).to.deep.equal({ rto: "1h", rpo: "5m" });
    expect(by["key-compromise"].objective).to.deep.equal({ rto: "4h", rpo: "0s" });
    expect(by.restore.objective).to.deep.equal({ rto: "4h", rpo: "1d" });
    const cmds = (s: string) => by[s].steps.flatMap((x) => x.commands).join("\n");
    expect(cmds("region")).to.include("drstack failover --to dr --dry-run");
    expect(cmds("region")).to.include("drstack failback --site primary --swap-back");
    // The primary's kube context, data namespace and Patroni scope from the stack files.
    expect(cmds("node")).to.include(
      "kubectl --context drstack-primary-use1 -n drstack-data exec pg-example-network-0 -c patroni -- patronictl",
    );
    expect(cmds("corruption")).to.match(
      /drstack restore --target postgres --site primary --to "<YYYY-MM-DD HH:MM:SS\+00>" --dry-run/,
    );
    expect(cmds("key-compromise")).to.include("scale statefulset val-use1-a --replicas=0");
    for (const b of books) expect(b.steps.length, b.scenario).to.be.greaterThan(1);
  });

  it("follows the topology: after a swap the runbooks name the new primary", () => {
    const flipped = flipRoles(shippedNetworkText(), "dr").network;
    const books = buildRunbooks(flipped, runbookSites(projectRoot(), flipped), ["region", "node"]);
    expect(books.map((b) => b.scenario)).to.deep.equal(["node", "region"]);
    const region = books[1].steps.flatMap((s) => s.commands).join("\n");
    expect(region).to.include("drstack failover --to primary --dry-run");
    expect(region).to.include("drstack failback --site dr");
    expect(books[0].steps[0].commands[0]).to.include("--context drstack-dr-euw1");
  });

  it("says when an objective is not declared", () => {
    const text = shippedNetworkText()
      .replace(/^ {2}corruption:.*\n/m, "")
      .replace(/^ {2}keyCompromise:.*\n/m, "");
    const r = runCli([
      "runbook",
      "--network",
      tempFile("network.yaml", text),
      "--scenario",
      "corruption",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(
      "no objective declared (objectives.corruption in stacks/network.yaml)",
    );
  });

  it("CLI: text, markdown and json, with --scenario; bad scenario is exit 2", () => {
    const text = runCli(["runbook"]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/== region: Primary region lost.*\[RTO 15m, RPO 1m\]/);
    const md = runCli(["runbook", "--format", "markdown", "--scenario", "region"]);
    expect(md.code).to.equal(0);
    expect(md.stdout).to.match(/^# Runbooks: example-network/);
    expect(md.stdout).to.include(
      "| Primary region lost: stack swap to a standby site | 15m | 1m |",
    );
    expect(md.stdout).to.include("```sh");
    const json = runCli(["runbook", "--json"]);
    const doc = JSON.parse(json.stdout);
    expect(doc.runbooks).to.have.length(6);
    expect(doc.runbooks[2]).to.include({ scenario: "region", objectiveKey: "region" });
    const bad = runCli(["runbook", "--scenario", "meteor"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--scenario must be one of node, zone, region/);
  });
});

describe("runbooks: a managed DR site whose cluster does not exist yet", () => {
  it("the region runbook creates it with pulumi up -s dr, counted in the region RTO", () => {
    const text = fs.readFileSync(
      path.join(projectRoot(), "examples", "managed-clusters.yaml"),
      "utf8",
    );
    const network = parseNetwork(text);
    const region = buildRunbooks(network, runbookSites(projectRoot(), network), ["region"])[0];
    const step = region.steps.find((s) => s.text.includes("cluster does not exist yet"));
    expect(step, "cluster step").to.not.equal(undefined);
    expect(step!.text).to.include("GKE cluster");
    expect(step!.text).to.include("region RTO (45m)");
    expect(step!.commands).to.include("pulumi up -s dr");
    expect(step!.commands).to.include(
      "gcloud container clusters get-credentials managed-example-dr --region europe-west1 --project drstack-dr-example",
    );
    // Before the swap itself.
    const swap = region.steps.findIndex((s) => s.text.startsWith("Swap."));
    expect(region.steps.indexOf(step!)).to.be.lessThan(swap);
    // Bring-your-own DR sites have no such step.
    const shipped = parseNetwork(shippedNetworkText());
    const byo = buildRunbooks(shipped, runbookSites(projectRoot(), shipped), ["region"])[0];
    expect(byo.steps.some((s) => s.text.includes("cluster does not exist yet"))).to.equal(false);
  });
});
