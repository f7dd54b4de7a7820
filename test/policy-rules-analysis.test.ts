import { expect } from "chai";
import { parse, stringify } from "yaml";
import { rule as cloudMajority } from "../policies/rules/analysis/cloud-voting-majority";
import { rule as cloudPower } from "../policies/rules/analysis/cloud-voting-power";
import { rule as objectiveAchievable } from "../policies/rules/analysis/objective-achievable";
import { rule as standbyCopy } from "../policies/rules/analysis/standby-current-copy";
import type { Network } from "../components/topology/model";
import type { StackPlan } from "../planner/plan";
import {
  networkFixture,
  type ResourceSpec,
  runStackRule,
  topologyConfigMap,
} from "./support/policy";
import { planStack } from "../planner/plan";
import { planShipped, projectRoot } from "./support/project";

const specs = (plans: readonly StackPlan[]): ResourceSpec[] =>
  plans.flatMap((p) =>
    p.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
  );

async function withConfig(stack: string, config: Record<string, string>): Promise<StackPlan[]> {
  const plans = await planShipped();
  const changed = await planStack(stack, {
    projectDir: projectRoot(),
    configOverrides: config,
    stackOutputs: new Map(plans.map((p) => [p.stack, p.outputs])),
  });
  return plans.map((p) => (p.stack === stack ? changed : p));
}

describe("rule objective-achievable", function () {
  this.timeout(300_000);

  it("passes the shipped stacks", async () => {
    expect(
      (await runStackRule(objectiveAchievable, specs(await planShipped()))).messages,
    ).to.deep.equal([]);
  });

  it("fails when a Patroni ttl makes the node and zone objectives unreachable, naming the setting", async () => {
    const r = await runStackRule(
      objectiveAchievable,
      specs(await withConfig("primary", { "drstack:postgres": JSON.stringify({ ttl: 40 }) })),
    );
    expect(
      r.messages.some(
        (m) =>
          m.startsWith("node RTO 30s cannot be met") &&
          m.includes("ttl 40 + loop_wait 2 + retry_timeout 4 = 46s"),
      ),
    ).to.equal(true);
    expect(
      r.messages.some((m) => m.startsWith("losing zone aws/us-east-1a: zone RTO 1m")),
    ).to.equal(false); // 46s < 1m
    expect(r.messages.every((m) => m.includes("change: "))).to.equal(true);
  });

  it("fails when Sentinel's down-after makes the node objective unreachable", async () => {
    const r = await runStackRule(
      objectiveAchievable,
      specs(
        await withConfig("primary", {
          "drstack:redis": JSON.stringify({ downAfterMilliseconds: 30000, failoverTimeout: 60000 }),
        }),
      ),
    );
    expect(r.messages.join("\n"))
      .to.include("node RTO 30s cannot be met")
      .and.include("Redis Sentinel: down-after 30000ms")
      .and.include("drstack:redis downAfterMilliseconds");
  });

  it("is not applicable to one stack alone (needs every data site)", async () => {
    const plans = (await planShipped()).filter((p) => p.stack === "primary");
    expect((await runStackRule(objectiveAchievable, specs(plans))).notApplicable).to.include(
      "missing dr",
    );
  });
});

describe("rule standby-current-copy", function () {
  this.timeout(300_000);

  it("passes the shipped stacks (dr: Patroni standby cluster, Redis replica)", async () => {
    const r = await runStackRule(standbyCopy, specs(await planShipped()));
    expect(r.messages).to.deep.equal([]);
    expect(r.notApplicable).to.equal(undefined);
  });

  it("fails an independent Redis in the standby site", async () => {
    const r = await runStackRule(
      standbyCopy,
      specs(
        await withConfig("dr", {
          "drstack:redis": JSON.stringify({ standby: { mode: "independent" } }),
        }),
      ),
    );
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("standby site dr runs Redis independently");
  });

  it("fails a standby Patroni cluster without standby_cluster", async () => {
    const all = specs(await planShipped()).map((s) => {
      const data = (s.props as { data?: Record<string, unknown> }).data;
      const text = data?.["patroni.yaml"];
      if (!s.urn.includes(":dr::") || typeof text !== "string") return s;
      const cfg = parse(text) as { bootstrap: { dcs: Record<string, unknown> } };
      delete cfg.bootstrap.dcs.standby_cluster;
      return {
        ...s,
        props: { ...(s.props as object), data: { ...data, "patroni.yaml": stringify(cfg) } },
      };
    });
    const r = await runStackRule(standbyCopy, all);
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("standby site dr runs PostgreSQL as an independent cluster");
  });
});

function cloudNetwork(awsPower: number, gcpPower: number): Network {
  const n = networkFixture();
  const cloudOf = new Map(n.sites.map((s) => [s.name, s.cloud]));
  return {
    ...n,
    validators: n.validators.map((v) => ({
      ...v,
      votingPower: cloudOf.get(v.site) === "aws" ? awsPower : gcpPower,
    })),
  };
}

describe("rules cloud-voting-power and cloud-voting-majority", () => {
  it("cloud-voting-power reports both clouds of an equal two-cloud network (1/2 each, >= 1/3)", async () => {
    const r = await runStackRule(cloudPower, [topologyConfigMap(cloudNetwork(1, 1))]);
    expect(r.messages).to.have.length(2);
    expect(r.messages[0])
      .to.include("cloud aws holds 1/2 (50%)")
      .and.include("would halt consensus");
    expect(cloudPower.enforcementLevel).to.equal("advisory");
  });

  it("cloud-voting-power is exact at the limit and honours maxFraction", async () => {
    // 2 aws validators... the fixture: aws and gcp sites; aws power 1 each, gcp 2 each.
    const n = cloudNetwork(1, 2);
    const r = await runStackRule(cloudPower, [topologyConfigMap(n)], { maxFraction: "2/3" });
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("cloud gcp holds 2/3");
    expect(
      (await runStackRule(cloudPower, [topologyConfigMap(n)], { maxFraction: "67%" })).messages,
    ).to.deep.equal([]);
  });

  it("cloud-voting-majority passes exactly half and fails more than half", async () => {
    expect(
      (await runStackRule(cloudMajority, [topologyConfigMap(cloudNetwork(1, 1))])).messages,
    ).to.deep.equal([]);
    const r = await runStackRule(cloudMajority, [topologyConfigMap(cloudNetwork(3, 2))]);
    expect(r.messages).to.have.length(1);
    expect(r.messages[0]).to.include("cloud aws holds 3/5").and.include("more than half");
  });
});
