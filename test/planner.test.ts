import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { engineUrn, EngineError, RecordingMonitor } from "../planner/monitor";
import { planAll, planStack } from "../planner/plan";
import { resourceJson } from "../planner/report";
import { parseNetwork } from "../components/topology/load";
import {
  byType,
  one,
  planShipped,
  planWithConfig,
  projectRoot,
  shippedNetworkText,
} from "./support/project";

describe("offline planner", () => {
  it("plans every shipped stack, each with one DrSite under the root stack", async () => {
    const plans = await planShipped();
    expect(plans.map((p) => p.stack)).to.deep.equal(["asia", "dr", "primary", "west"]);
    for (const plan of plans) {
      const root = one(plan, "pulumi:pulumi:Stack", `drstack-${plan.stack}`);
      expect(root.parent).to.equal(undefined);
      const site = one(plan, "drstack:site:DrSite", plan.stack);
      expect(site.parent).to.equal(root.urn);
      expect(site.urn).to.equal(
        `urn:pulumi:${plan.stack}::drstack::drstack:site:DrSite::${plan.stack}`,
      );
    }
  });

  it("gives every Kubernetes resource the site's provider and the DrSite as parent", async () => {
    for (const plan of await planShipped()) {
      const site = one(plan, "drstack:site:DrSite", plan.stack);
      const provider = one(plan, "pulumi:providers:kubernetes", `${plan.stack}-k8s`);
      expect(provider.parent).to.equal(site.urn);
      const k8s = plan.resources.filter((r) => r.type.startsWith("kubernetes:"));
      expect(k8s).to.not.be.empty;
      for (const r of k8s) {
        expect(r.provider, r.urn).to.equal(`${provider.urn}::${provider.id}`);
        expect(r.urn, r.urn).to.match(
          /::drstack:site:DrSite\$([a-z]+:[a-z]+:[A-Za-z]+\$)*kubernetes:/,
        );
        // Its parent chain leads to the site.
        let parent = r.parent;
        const byUrn = new Map(plan.resources.map((x) => [x.urn, x]));
        while (parent && parent !== site.urn) parent = byUrn.get(parent)?.parent;
        expect(parent, r.urn).to.equal(site.urn);
      }
      const direct = plan.resources.filter((r) => r.parent === site.urn);
      expect(direct.every((r) => r.name.startsWith(`${plan.stack}-`))).to.equal(true);
    }
  });

  it("sends the site's cluster context and the labels a cluster needs", async () => {
    const primary = (await planShipped()).find((p) => p.stack === "primary")!;
    expect(one(primary, "pulumi:providers:kubernetes", "primary-k8s").inputs).to.include({
      context: "drstack-primary-use1",
    });
    const namespaces = byType(primary, "kubernetes:core/v1:Namespace").map(
      (r) => (r.inputs as any).metadata,
    );
    expect(namespaces.map((m: any) => m.name)).to.deep.equal([
      "drstack-system",
      "drstack-validators",
      "drstack-data",
      "drstack-backup",
    ]);
    for (const m of namespaces) {
      expect(m.labels).to.include({
        "topology.kubernetes.io/region": "us-east-1",
        "drstack.io/site": "primary",
        "drstack.io/role": "primary",
        "pod-security.kubernetes.io/enforce": "restricted",
      });
    }
    const west = (await planShipped()).find((p) => p.stack === "west")!;
    expect(
      byType(west, "kubernetes:core/v1:Namespace").map((r) => (r.inputs as any).metadata.name),
    ).to.deep.equal(["drstack-system", "drstack-validators"]);
  });

  it("carries the validated network topology in a ConfigMap", async () => {
    const dr = (await planShipped()).find((p) => p.stack === "dr")!;
    const cm = one(dr, "kubernetes:core/v1:ConfigMap", "dr-topology").inputs as any;
    expect(cm.metadata.namespace).to.equal("drstack-system");
    expect(JSON.parse(cm.data["network.json"])).to.deep.equal(
      JSON.parse(JSON.stringify(parseNetwork(shippedNetworkText()))),
    );
    expect(dr.outputs).to.include({
      site: "dr",
      role: "standby",
      region: "europe-west1",
      regionVotingShare: "25%",
    });
  });

  it("forms URNs as the engine does: the parent's type chain, without the root stack", () => {
    expect(engineUrn("s", "p", undefined, "a:b:C", "x")).to.equal("urn:pulumi:s::p::a:b:C::x");
    expect(engineUrn("s", "p", "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", "a:b:C", "x")).to.equal(
      "urn:pulumi:s::p::a:b:C::x",
    );
    const child = engineUrn("s", "p", "urn:pulumi:s::p::a:b:C::x", "d:e:F", "y");
    expect(child).to.equal("urn:pulumi:s::p::a:b:C$d:e:F::y");
    expect(engineUrn("s", "p", child, "g:h:I", "z")).to.equal(
      "urn:pulumi:s::p::a:b:C$d:e:F$g:h:I::z",
    );
  });

  it("fails where the engine would: a duplicate URN", async () => {
    const program = async () => {
      new pulumi.ComponentResource("test:dup:Thing", "same");
      new pulumi.ComponentResource("test:dup:Thing", "same");
      return {};
    };
    let err: unknown;
    try {
      await planStack("primary", { projectDir: projectRoot(), program });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(EngineError);
    expect((err as Error).message).to.match(
      /Duplicate resource URN 'urn:pulumi:primary::drstack::test:dup:Thing::same'/,
    );
  });

  it("resolves StackReferences from the other stacks' offline outputs, planning those first", async () => {
    const program = async () => {
      const stack = pulumi.getStack();
      if (stack !== "dr") return { marker: `from-${stack}` };
      const ref = new pulumi.StackReference("dr-primary", { name: "organization/drstack/primary" });
      return { seen: ref.getOutput("marker") };
    };
    const plans = await planAll({ projectDir: projectRoot(), program, stacks: ["dr", "primary"] });
    const dr = plans.find((p) => p.stack === "dr")!;
    expect(dr.outputs.seen).to.equal("from-primary");
    expect(dr.stackReferences).to.deep.equal(["primary"]);
    expect(plans.map((p) => p.stack)).to.deep.equal(["dr", "primary"]);
  });

  it("plans stacks that read each other: one as a preview first, then both with real outputs", async () => {
    // After a failover: dr (now primary) reads primary's credentials, primary (now standby)
    // reads dr's endpoint. Neither output depends on the other stack.
    const program = async () => {
      const stack = pulumi.getStack();
      const other = stack === "dr" ? "primary" : "dr";
      const ref = new pulumi.StackReference(`${stack}-ref`, { name: other });
      return stack === "dr"
        ? { endpoint: "dr-host", password: ref.getOutput("secret") }
        : { secret: "s3cret", follows: ref.getOutput("endpoint") };
    };
    const plans = await planAll({ projectDir: projectRoot(), program, stacks: ["dr", "primary"] });
    const by = new Map(plans.map((p) => [p.stack, p.outputs]));
    expect(by.get("dr")).to.deep.equal({ endpoint: "dr-host", password: "s3cret" });
    expect(by.get("primary")).to.deep.equal({ secret: "s3cret", follows: "dr-host" });
  });

  it("a real cycle (each output needs the other's) is reported, not looped on", async () => {
    const program = async () => {
      const stack = pulumi.getStack();
      const other = stack === "dr" ? "primary" : "dr";
      const ref = new pulumi.StackReference(`${stack}-ref`, { name: other });
      return {
        value: ref.getOutput("value").apply((v) => {
          if (typeof v !== "string") throw new Error(`stack ${other} exports no value`);
          return `${v}+`;
        }),
      };
    };
    let err: any;
    try {
      await planAll({ projectDir: projectRoot(), program, stacks: ["dr", "primary"] });
    } catch (e) {
      err = e;
    }
    expect(err, "planAll should fail").to.be.instanceOf(Error);
    expect(err.message).to.match(/cycle among: .*(dr|primary)|exports no value|do not settle/);
  });

  it("records secrets as secret and redacts them in the JSON view", async () => {
    const kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: hunter2}}]\n";
    const plan = await planWithConfig("west", { "drstack:kubeconfig": kubeconfig });
    const provider = one(plan, "pulumi:providers:kubernetes", "west-k8s");
    expect(provider.secretInputs).to.include("kubeconfig");
    expect(JSON.stringify(resourceJson(provider))).to.not.include("hunter2");
    expect(resourceJson(provider).inputs).to.include({ kubeconfig: "[secret]" });
  });

  it("reports a StackReference to a stack that does not exist", async () => {
    const program = async () => {
      new pulumi.StackReference("ref", { name: "nosuchstack" });
      return {};
    };
    let err: any;
    try {
      await planAll({ projectDir: projectRoot(), program, stacks: ["primary"] });
    } catch (e) {
      err = e;
    }
    expect(err?.name).to.equal("ConfigError");
    expect(err.message).to.match(/reads stack nosuchstack, which does not exist/);
  });

  it("plans one stack per site of another topology file", async () => {
    const file = path.join(projectRoot(), "examples", "unsafe-3-region.yaml");
    expect(fs.existsSync(file)).to.equal(true);
    const plans = await planAll({ projectDir: projectRoot(), networkFile: file });
    expect(plans.map((p) => p.outputs.site)).to.deep.equal(["primary", "dr", "west"]);
    expect(plans.find((p) => p.outputs.site === "primary")!.outputs.regionVotingShare).to.equal(
      "40%",
    );
  });

  it("names read resources (StackReference) for the stack it serves, not this process's", async () => {
    // The langhost tests serve a child process's stack while this process was last set up for
    // another one: a read's URN must still carry the served stack (as registrations do).
    const mocks = {
      newResource: async (a: { name: string; inputs: unknown }) => ({
        id: a.name,
        state: a.inputs,
      }),
      call: async () => ({}),
    };
    const monitor = new RecordingMonitor(mocks as never, { project: "drstack", stack: "dr" });
    const parent = "urn:pulumi:dr::drstack::drstack:site:DrSite::dr";
    const req = {
      getType: () => "pulumi:pulumi:StackReference",
      getName: () => "dr-redis-primary",
      getParent: () => parent,
      getProvider: () => "",
      getId: () => "primary",
      getProperties: () => ({ toJavaScript: () => ({ name: "primary" }) }),
    };
    const urn = await new Promise<string>((resolve, reject) =>
      monitor.readResource(req, (err, resp) => (err ? reject(err) : resolve(resp.getUrn()))),
    );
    expect(urn).to.equal(
      "urn:pulumi:dr::drstack::drstack:site:DrSite$pulumi:pulumi:StackReference::dr-redis-primary",
    );
  });
});
