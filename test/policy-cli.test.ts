import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadRules } from "../policies/lib/registry";
import { rulesMarkdown } from "../policies/lib/rules-md";
import { mandatoryCount, runPolicies } from "../policies/lib/runner";
import { planShipped, projectRoot, runCli, tempFile } from "./support/project";

describe("drstack policy", () => {
  it("passes the shipped stacks (exit 0) and every rule ran", () => {
    const r = runCli(["policy", "--all", "--json"]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.passed).to.equal(true);
    expect(report.stacks).to.have.members(["primary", "dr", "west", "asia"]);
    expect(report.rules.map((x: { name: string }) => x.name)).to.include.members([
      "region-voting-power",
      "single-signer",
      "restricted-pods",
      "pdb-required",
    ]);
    expect(
      report.violations.filter(
        (v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory",
      ),
    ).to.deep.equal([]);
  });

  it("checks one stack with --stack (network-wide rules over that stack alone)", () => {
    const r = runCli(["policy", "--stack", "west", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.stacks).to.deep.equal(["west"]);
    expect(report.resourcesChecked).to.be.greaterThan(0);
  });

  it("fails the unsafe 3-region network (exit 1), naming the regions at 40%", () => {
    const r = runCli(["policy", "--all", "--network", "examples/unsafe-3-region.yaml"]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout)
      .to.include("[region-voting-power]")
      .and.include("aws/us-east-1 holds 2/5 (40%)")
      .and.include("gcp/europe-west1 holds 2/5 (40%)");
    expect(r.stdout).to.match(/failed: \d+ mandatory violations/);
  });

  it("prints markdown for a pull-request comment", () => {
    const r = runCli([
      "policy",
      "--all",
      "--network",
      "examples/unsafe-3-region.yaml",
      "--format",
      "markdown",
    ]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^### ❌ drstack policy: \d+ mandatory violations/);
    expect(r.stdout).to.include(
      "| ❌ mandatory | `region-voting-power` | critical | (all stacks) |",
    );
  });

  it("a policy config can lower a rule to advisory (exit 0, still reported) or change its settings", () => {
    const advisory = tempFile(
      "policy.json",
      JSON.stringify({
        "region-voting-power": "advisory",
        "validators-per-site": { enforcementLevel: "advisory" },
      }),
    );
    const r = runCli([
      "policy",
      "--all",
      "--network",
      "examples/unsafe-3-region.yaml",
      "--config",
      advisory,
    ]);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.stdout).to.include("warn [region-voting-power]");
    const strict = tempFile(
      "policy.json",
      JSON.stringify({ "region-voting-power": { maxFraction: "1/4" } }),
    );
    const s = runCli(["policy", "--all", "--config", strict]);
    expect(s.code).to.equal(1);
    expect(s.stdout).to.include("holds 1/4 (25%)");
  });

  it("bad input exits 2: --format, --config, unknown stack, missing network, no stack chosen", () => {
    expect(runCli(["policy", "--all", "--format", "yaml"]).code).to.equal(2);
    expect(runCli(["policy", "--all", "--format", "yaml"]).stderr).to.include(
      "--format must be one of text, json, markdown",
    );
    const bad = tempFile("policy.json", JSON.stringify({ "no-such-rule": "mandatory" }));
    const c = runCli(["policy", "--all", "--config", bad]);
    expect(c.code).to.equal(2);
    expect(c.stderr).to.include("no-such-rule: no such rule");
    expect(runCli(["policy", "--all", "--config", tempFile("p.json", "{oops")]).code).to.equal(2);
    expect(runCli(["policy", "--stack", "nope"]).code).to.equal(2);
    expect(runCli(["policy", "--all", "--network", "no/such/file.yaml"]).code).to.equal(2);
    expect(runCli(["policy"]).code).to.equal(2);
  });

  it("RULES.md is in sync with the registry (regenerate: drstack policy --rules-md > RULES.md)", () => {
    const file = path.join(projectRoot(), "RULES.md");
    expect(fs.readFileSync(file, "utf8")).to.equal(rulesMarkdown(loadRules()));
    expect(runCli(["policy", "--rules-md"]).stdout).to.equal(rulesMarkdown(loadRules()));
  });

  it("the offline runner sees every planned resource, with secrets marked", async () => {
    const plans = await planShipped();
    const report = await runPolicies(plans, loadRules());
    expect(report.resourcesChecked).to.equal(plans.reduce((n, p) => n + p.resources.length, 0));
    expect(mandatoryCount(report)).to.equal(0);
  });
});

describe("policy workflow", () => {
  it("runs the offline check on pull requests and previews with the pack only when a token exists", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parse } = require("yaml") as typeof import("yaml");
    const wf = parse(
      fs.readFileSync(path.join(projectRoot(), ".github", "workflows", "policy.yml"), "utf8"),
    );
    expect(wf.on).to.have.property("pull_request");
    const steps = wf.jobs.offline.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
    expect(steps).to.include("npm ci").and.include("policy --all --format markdown");
    expect(steps).to.include("analyze --markdown > analyze-report.md");
    expect(wf.jobs.preview.if).to.include("enabled == 'true'");
    expect(wf.jobs.preview.steps.map((s: { run?: string }) => s.run ?? "").join("\n")).to.include(
      "--policy-pack policies",
    );
    // The Pulumi CLI: the SDK's version, checksum verified, never `curl | sh`.
    const install = wf.jobs.preview.steps.find((s: { name?: string }) =>
      /Install the Pulumi CLI/.test(s.name ?? ""),
    );
    const sdk = JSON.parse(
      fs.readFileSync(
        path.join(projectRoot(), "node_modules", "@pulumi", "pulumi", "package.json"),
        "utf8",
      ),
    ).version;
    expect(install.env.PULUMI_VERSION).to.equal(sdk);
    expect(install.run)
      .to.include("sha256sum --check --strict")
      .and.not.match(/\|\s*(ba)?sh/);
    expect(wf.jobs.preview.steps.map((s: { run?: string }) => s.run ?? "").join("\n")).to.include(
      "npm ci --no-audit --no-fund --prefix policies",
    );
  });
});
