import { expect } from "chai";
import { rule as singleSigner } from "../policies/rules/validators/single-signer";
import { changed, resource, runStackRule, validatorStatefulSet } from "./support/policy";

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
