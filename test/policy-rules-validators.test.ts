import { expect } from "chai";
import { rule as validatorsPerSite } from "../policies/rules/validators/validators-per-site";
import { rule as singleSigner } from "../policies/rules/validators/single-signer";
import {
  changed,
  networkFixture,
  resource,
  runStackRule,
  topologyConfigMap,
  validatorStatefulSet,
} from "./support/policy";

describe("rule single-signer", () => {
  const sts = validatorStatefulSet("val-a");

  it("passes one validator StatefulSet with 1 replica", async () => {
    expect(
      (await runStackRule(singleSigner, [sts, validatorStatefulSet("val-b", "us-east-1b")]))
        .messages,
    ).to.deep.equal([]);
  });

  it("fails a validator StatefulSet with 2 replicas, naming it", async () => {
    const run = await runStackRule(singleSigner, [changed(sts, "spec.replicas", 2)]);
    expect(run.messages).to.have.length(1);
    expect(run.messages[0]).to.include("validator val-a has 2 replicas");
    expect(run.violations[0].urn).to.equal(sts.urn);
  });

  it("fails a validator run as a Deployment", async () => {
    const dep = {
      ...sts,
      type: "kubernetes:apps/v1:Deployment",
      urn: sts.urn.replace("StatefulSet", "Deployment"),
    };
    expect((await runStackRule(singleSigner, [dep])).messages[0]).to.include(
      "runs as a Deployment",
    );
  });

  it("fails an autoscaler targeting a validator, passes one targeting something else", async () => {
    const hpa = (name: string) =>
      resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", `hpa-${name}`, {
        metadata: { name: `hpa-${name}`, namespace: "drstack-validators" },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name },
          minReplicas: 1,
          maxReplicas: 3,
        },
      });
    expect((await runStackRule(singleSigner, [sts, hpa("val-a")])).messages[0]).to.include(
      "scales validator val-a",
    );
    expect((await runStackRule(singleSigner, [sts, hpa("web")])).messages).to.deep.equal([]);
  });

  it("fails the same validator deployed twice (e.g. in two stacks)", async () => {
    const twin = {
      ...validatorStatefulSet("val-a", "europe-west1-b", "dr"),
      urn: "urn:pulumi:dr::drstack::kubernetes:apps/v1:StatefulSet::dr-val-a",
    };
    expect((await runStackRule(singleSigner, [sts, twin])).messages[0]).to.include(
      "validator val-a is deployed by 2 workloads",
    );
  });

  it("ignores non-validator workloads with many replicas", async () => {
    const db = changed(
      changed(sts, "metadata.labels", { app: "db" }),
      "spec.template.metadata.labels",
      { app: "db" },
    );
    expect(
      (await runStackRule(singleSigner, [changed(db, "spec.replicas", 3)])).messages,
    ).to.deep.equal([]);
  });
});

describe("rule validators-per-site", () => {
  it("passes two zone-pinned validators of a site on distinct zones", async () => {
    const a = validatorStatefulSet("val-1", "us-east-1a");
    const b = validatorStatefulSet("val-2", "us-east-1b");
    expect(
      (await runStackRule(validatorsPerSite, [topologyConfigMap(), a, b])).messages,
    ).to.deep.equal([]);
  });

  it("fails a site declaring one validator", async () => {
    const n = networkFixture();
    const one = { ...n, validators: n.validators.filter((v) => v.name !== "val-6") };
    expect(
      (await runStackRule(validatorsPerSite, [topologyConfigMap(one)])).messages,
    ).to.deep.equal(["site west runs 1 validator (val-5); at least 2 are required"]);
  });

  it("fails a site whose validators share one zone", async () => {
    const n = networkFixture();
    const same = {
      ...n,
      validators: n.validators.map((v) => (v.name === "val-6" ? { ...v, zone: "us-west-2a" } : v)),
    };
    expect(
      (await runStackRule(validatorsPerSite, [topologyConfigMap(same)])).messages[0],
    ).to.include("site west's validators (val-5, val-6) all run in us-west-2a");
  });

  it("fails deployed validators on one zone, unpinned, or pinned to another zone than declared", async () => {
    const a = validatorStatefulSet("val-1", "us-east-1a");
    const b = validatorStatefulSet("val-2", "us-east-1a");
    const r = await runStackRule(validatorsPerSite, [topologyConfigMap(), a, b]);
    expect(r.messages).to.include(
      "validator val-2 is pinned to us-east-1a but the topology declares us-east-1b",
    );
    expect(
      r.messages.some((m) =>
        m.includes("site primary deploys its validators (val-1, val-2) on 1 zone"),
      ),
    ).to.equal(true);
    const unpinned = changed(
      validatorStatefulSet("val-2", "us-east-1b"),
      "spec.template.spec.affinity",
      undefined,
    );
    expect(
      (await runStackRule(validatorsPerSite, [topologyConfigMap(), a, unpinned])).messages[0],
    ).to.include("validator val-2 is not pinned to one zone");
  });

  it("fails a site deploying a single validator workload", async () => {
    const r = await runStackRule(validatorsPerSite, [validatorStatefulSet("val-1", "us-east-1a")]);
    expect(r.messages).to.deep.equal([
      "site primary deploys 1 validator workload (val-1); at least 2 are required",
    ]);
  });
});
