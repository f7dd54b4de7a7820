import { expect } from "chai";
import { parse, stringify } from "yaml";
import { ConfigError, type Problem } from "../components/topology/errors";
import { parseNetwork } from "../components/topology/load";
import { zoneBelongsToRegion } from "../components/topology/names";
import { parseDuration } from "../components/topology/model";
import { shippedNetworkText } from "./support/project";

/** The shipped network as data, to change one field per case. */
function base(): any {
  return parse(shippedNetworkText());
}

function problemsOf(doc: unknown): Problem[] {
  const text = typeof doc === "string" ? doc : stringify(doc);
  try {
    parseNetwork(text, "net.yaml");
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error("expected the network to be rejected");
}

function expectProblem(problems: Problem[], path: string, message: RegExp): Problem {
  const p = problems.find((x) => x.path === path && message.test(x.message));
  expect(
    p,
    `no problem at ${path} matching ${message}; got:\n${problems.map((x) => `${x.path}: ${x.message}`).join("\n")}`,
  ).to.not.equal(undefined);
  return p!;
}

describe("network topology validation", () => {
  it("accepts the shipped example and normalizes defaults", () => {
    const net = parseNetwork(shippedNetworkText());
    expect(net.sites.map((s) => s.name)).to.deep.equal(["primary", "dr", "west", "asia"]);
    expect(net.sites[0].services).to.deep.equal(["validators", "postgres", "redis", "backup"]);
    expect(net.validators.find((v) => v.name === "val-use1-b")!.parties).to.deep.equal([]);
    expect(net.objectives.region).to.include({ rtoSeconds: 900, rpoSeconds: 60 });
  });

  it("reports YAML syntax errors with their line", () => {
    const problems = problemsOf("name: x\nsites:\n  - name: a\n    zones: [a, b\nvalidators: []\n");
    expect(problems[0].message).to.match(/YAML syntax error/);
    expect(problems[0].line).to.be.a("number").and.to.be.greaterThan(1);
  });

  it("reports duplicate mapping keys as a syntax error", () => {
    const problems = problemsOf("name: a\nname: b\n");
    expect(problems[0].message).to.match(/YAML syntax error/);
    expect(problems[0].line).to.equal(2);
  });

  it("reports wrong types with the field path", () => {
    const doc = base();
    doc.sites[0].zones = "us-east-1a";
    doc.validators[0].votingPower = "ten";
    const problems = problemsOf(doc);
    expectProblem(problems, "sites[0].zones", /must be a list/);
    expectProblem(
      problems,
      "validators[0].votingPower",
      /must be an integer, got the string "ten"/,
    );
  });

  it("reports unknown keys with a did-you-mean fix", () => {
    const doc = base();
    doc.sites[1].zone = doc.sites[1].zones;
    doc.validators[2].votingpower = 3;
    const problems = problemsOf(doc);
    expect(expectProblem(problems, "sites[1].zone", /unknown key/).fix).to.match(
      /did you mean "zones"/,
    );
    expect(expectProblem(problems, "validators[2].votingpower", /unknown key/).fix).to.match(
      /"votingPower"/,
    );
  });

  it("reports missing required fields", () => {
    const doc = base();
    delete doc.sites[2].region;
    delete doc.objectives.region;
    const problems = problemsOf(doc);
    expectProblem(problems, "sites[2].region", /is required/);
    expectProblem(problems, "objectives.region", /is required/);
  });

  it("reports duplicate names of sites, validators and parties", () => {
    const doc = base();
    doc.sites[3].name = "west";
    doc.validators[1].name = "val-use1-a";
    doc.parties[1].name = "network-operator";
    const problems = problemsOf(doc);
    expectProblem(problems, "sites[3].name", /duplicate name "west" \(also sites\[2\]\)/);
    expectProblem(problems, "validators[1].name", /duplicate name "val-use1-a"/);
    expectProblem(problems, "parties[1].name", /duplicate name "network-operator"/);
  });

  it("reports unknown site and zone references", () => {
    const doc = base();
    doc.validators[0].site = "primray";
    doc.validators[2].zone = "europe-west1-z";
    const problems = problemsOf(doc);
    expect(expectProblem(problems, "validators[0].site", /unknown site "primray"/).fix).to.match(
      /primary/,
    );
    expectProblem(problems, "validators[2].zone", /not a zone of site dr/);
  });

  it("checks credentialsSite: an existing site that runs the shared data services", () => {
    const typo = base();
    typo.credentialsSite = "primray";
    expect(
      expectProblem(problemsOf(typo), "credentialsSite", /no site named "primray"/).fix,
    ).to.match(/did you mean "primary"/);
    const validatorsOnly = base();
    validatorsOnly.credentialsSite = "west";
    expect(
      expectProblem(
        problemsOf(validatorsOnly),
        "credentialsSite",
        /site west generates the shared credentials but does not run postgres and redis/,
      ).fix,
    ).to.match(/name a site that runs postgres and redis/);
    // Unset: the primary generates them, so it must run what the others run.
    const unset = base();
    delete unset.credentialsSite;
    unset.sites[0].services = ["validators", "postgres", "backup"];
    expectProblem(
      problemsOf(unset),
      "sites[0].services",
      /site primary generates the shared credentials \(the primary, as credentialsSite is not set\) but does not run redis/,
    );
    const ok = base();
    ok.credentialsSite = "dr";
    expect(parseNetwork(stringify(ok)).credentialsSite).to.equal("dr");
    delete ok.credentialsSite;
    expect(parseNetwork(stringify(ok)).credentialsSite).to.equal(undefined);
  });

  it("requires at least 2 zones per site", () => {
    const doc = base();
    doc.sites[1].zones = ["europe-west1-b"];
    const p = expectProblem(problemsOf(doc), "sites[1].zones", /need at least 2 zones, got 1/);
    expect(p.fix).to.match(/europe-west1-b, europe-west1-c/);
  });

  it("requires zones to follow their region's naming, per cloud", () => {
    const doc = base();
    doc.sites[0].zones = ["us-east-1a", "us-east-2b"];
    doc.sites[1].zones = ["europe-west1-b", "europe-west1b"];
    doc.validators[1].zone = "us-east-1a";
    doc.validators[3].zone = "europe-west1-b";
    const problems = problemsOf(doc);
    expectProblem(problems, "sites[0].zones[1]", /"us-east-2b" is not in region us-east-1/);
    expectProblem(problems, "sites[1].zones[1]", /"europe-west1b" is not in region europe-west1/);
  });

  it("requires region names of the site's cloud", () => {
    const doc = base();
    doc.sites[1].region = "eu-west-1";
    const p = expectProblem(problemsOf(doc), "sites[1].region", /not a GCP region name/);
    expect(p.fix).to.match(/europe-west1/);
  });

  it("requires exactly one primary", () => {
    const none = base();
    none.sites[0].role = "standby";
    expectProblem(problemsOf(none), "sites", /exactly one site with role primary, got 0/);
    const two = base();
    two.sites[1].role = "primary";
    expectProblem(problemsOf(two), "sites", /got 2 \(primary, dr\)/);
  });

  it("rejects a standby site in the primary's region", () => {
    const doc = base();
    doc.sites[2].region = "us-east-1";
    doc.sites[2].zones = ["us-east-1d", "us-east-1e"];
    doc.validators[4].zone = "us-east-1d";
    doc.validators[5].zone = "us-east-1e";
    expectProblem(problemsOf(doc), "sites[2].region", /in the primary's region us-east-1/);
  });

  it("rejects non-positive and non-integer voting power", () => {
    const doc = base();
    doc.validators[0].votingPower = 0;
    doc.validators[1].votingPower = -5;
    doc.validators[2].votingPower = 1.5;
    const problems = problemsOf(doc);
    expectProblem(problems, "validators[0].votingPower", /at least 1, got 0/);
    expectProblem(problems, "validators[1].votingPower", /at least 1, got -5/);
    expectProblem(problems, "validators[2].votingPower", /must be an integer, got 1.5/);
  });

  it("rejects a confirmation threshold larger than the party's hosts", () => {
    const doc = base();
    doc.parties[1].threshold = 3; // treasury is hosted on 2 validators
    const p = expectProblem(
      problemsOf(doc),
      "parties[1].threshold",
      /threshold 3 is larger than the 2 validators hosting party treasury/,
    );
    expect(p.fix).to.match(/at most 2/);
  });

  it("rejects unknown parties and validators on a site without the validators service", () => {
    const doc = base();
    doc.validators[0].parties = ["network-operator", "tresury"];
    doc.sites[3].services = ["backup"];
    const problems = problemsOf(doc);
    expect(
      expectProblem(problems, "validators[0].parties[1]", /unknown party "tresury"/).fix,
    ).to.match(/treasury/);
    expectProblem(problems, "validators[6].site", /does not run the validators service/);
  });

  it("reports several problems at once, each with its line", () => {
    const text = shippedNetworkText()
      .replace("region: europe-west1", "region: europe-west1\n    colour: blue")
      .replace("zone: us-east-1a\n    votingPower: 10", "zone: us-east-1a\n    votingPower: -1")
      .replace("zones: [us-west-2a, us-west-2b]", "zones: [us-west-2a]");
    const problems = problemsOf(text);
    expect(problems.length).to.be.at.least(3);
    const lines = text.split("\n");
    const colour = expectProblem(problems, "sites[1].colour", /unknown key/);
    expect(lines[colour.line! - 1]).to.match(/colour: blue/);
    const power = expectProblem(problems, "validators[0].votingPower", /at least 1/);
    expect(lines[power.line! - 1]).to.match(/votingPower: -1/);
    const zones = expectProblem(problems, "sites[2].zones", /need at least 2 zones/);
    expect(lines[zones.line! - 1]).to.match(/zones: \[us-west-2a\]/);
    const message = new ConfigError(problems).message;
    expect(message).to.match(new RegExp(`${problems.length} problems`));
    expect(message).to.match(
      /net\.yaml:\d+: sites\[2\]\.zones: need at least 2 zones, got 1 \(fix: /,
    );
  });

  it("rejects an empty document with a clear message", () => {
    expect(problemsOf("")[0].message).to.match(/must be a mapping, got an empty document/);
  });
});

describe("region and zone naming", () => {
  it("knows AWS and GCP zone shapes", () => {
    expect(zoneBelongsToRegion("aws", "us-east-1", "us-east-1a")).to.equal(true);
    expect(zoneBelongsToRegion("aws", "us-east-1", "us-east-1-bos-1a")).to.equal(true);
    expect(zoneBelongsToRegion("aws", "us-east-1", "us-east-11a")).to.equal(false);
    expect(zoneBelongsToRegion("aws", "us-east-1", "us-east-1-a")).to.equal(false);
    expect(zoneBelongsToRegion("gcp", "europe-west1", "europe-west1-b")).to.equal(true);
    expect(zoneBelongsToRegion("gcp", "europe-west1", "europe-west1b")).to.equal(false);
    expect(zoneBelongsToRegion("gcp", "europe-west1", "europe-west12-b")).to.equal(false);
  });

  it("parses durations", () => {
    expect(parseDuration("500ms")).to.equal(0.5);
    expect(parseDuration("15m")).to.equal(900);
    expect(parseDuration("1d")).to.equal(86400);
    expect(parseDuration("15 minutes")).to.equal(undefined);
  });
});
