/**
 * Every Kubernetes object the shipped stacks plan is checked against the official OpenAPI schema
 * of its kind (kubernetes-models, @kubernetes-models/prometheus-operator): types, enums, required
 * fields, and fields the schema does not declare, as the API server's strict field validation
 * would refuse them. See support/kube-schema.ts for how unknown fields are found.
 */
import { expect } from "chai";
import type { ResourceRecord } from "../planner/monitor";
import { planStack, type StackPlan } from "../planner/plan";
import { checkKubeObject, kubeSchemaProblems, parseToken } from "./support/kube-schema";
import { planShipped, projectRoot } from "./support/project";

type Obj = Record<string, any>;

/**
 * Every `kubernetes:` record. Component types of the Kubernetes provider (yaml ConfigGroup,
 * helm Chart) are not objects but would be here too: they have no schema, so the validator
 * reports them, and a stack that starts using one must expand it into its objects first.
 */
function kubernetesRecords(plans: readonly StackPlan[]): { stack: string; r: ResourceRecord }[] {
  return plans.flatMap((p) =>
    p.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => ({ stack: p.stack, r })),
  );
}

function recorded(plans: readonly StackPlan[], type: string): ResourceRecord {
  const found = kubernetesRecords(plans).find((x) => x.r.type === type);
  expect(found, `a recorded ${type}`).to.not.equal(undefined);
  return found!.r;
}

/** A deep copy of a recorded object's fields, to mutate. */
function copy(r: ResourceRecord): Obj {
  return structuredClone(r.inputs) as Obj;
}

describe("kubernetes objects: every recorded object matches the official schema of its kind", () => {
  let plans: StackPlan[];
  before(async () => {
    plans = await planShipped();
  });

  it("every object of every shipped stack is valid, with no unknown fields", () => {
    const records = kubernetesRecords(plans);
    const problems: string[] = [];
    const unchecked: string[] = [];
    for (const { stack, r } of records) {
      const c = checkKubeObject(r.type, r.inputs);
      problems.push(...c.problems.map((p) => `${stack} ${r.type} ${r.name}: ${p}`));
      unchecked.push(...c.unchecked.map((p) => `${stack} ${r.type} ${r.name}: ${p}`));
    }
    expect(problems, `\n${problems.join("\n")}\n`).to.deep.equal([]);
    // No field is free-form in its schema, so the unknown-field check reached every object.
    expect(unchecked, `free-form in the schema:\n${unchecked.join("\n")}\n`).to.deep.equal([]);

    expect(records.length).to.be.greaterThan(0);
    const groups = new Set(records.map(({ r }) => parseToken(r.type)?.group));
    for (const g of [
      "core",
      "apps",
      "batch",
      "policy",
      "rbac.authorization.k8s.io",
      "networking.k8s.io",
      "monitoring.coreos.com",
    ])
      expect(groups, `objects of group ${g}`).to.include(g);
    const kinds = new Set(records.map(({ r }) => r.type));
    for (const k of ["PrometheusRule", "ServiceMonitor", "PodMonitor"])
      expect(kinds, k).to.include(`kubernetes:monitoring.coreos.com/v1:${k}`);
  });

  it("the objects only a configured key backup adds are valid too", async () => {
    const p = await planStack("primary", {
      projectDir: projectRoot(),
      stackOutputs: new Map(plans.map((x) => [x.stack, x.outputs])),
      configOverrides: {
        "drstack:backup": JSON.stringify({
          keyRecipient:
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n",
          image: "registry.example.com/drstack-backup-tools:1",
        }),
      },
    });
    const records = kubernetesRecords([p]);
    expect(records.map(({ r }) => r.name)).to.include("primary-backup-keys");
    const problems = records.flatMap(({ r }) =>
      kubeSchemaProblems(r.type, r.inputs).map((x) => `${r.type} ${r.name}: ${x}`),
    );
    expect(problems, `\n${problems.join("\n")}\n`).to.deep.equal([]);
  });

  it("reports an unknown top-level field and a wrong metadata type of every recorded object", () => {
    const missed: string[] = [];
    for (const { stack, r } of kubernetesRecords(plans)) {
      const o = copy(r);
      o.specc = {};
      o.metadata = { ...o.metadata, name: 5 };
      const problems = kubeSchemaProblems(r.type, o);
      for (const want of [
        "specc: unknown field (not in the schema)",
        "metadata.name: must be string",
      ])
        if (!problems.includes(want)) missed.push(`${stack} ${r.type} ${r.name}: ${want}`);
    }
    expect(missed, `not reported:\n${missed.join("\n")}\n`).to.deep.equal([]);
  });

  it("reports a wrong type with its field path", () => {
    const d = copy(recorded(plans, "kubernetes:apps/v1:Deployment"));
    d.spec.replicas = "three";
    expect(kubeSchemaProblems("kubernetes:apps/v1:Deployment", d)).to.deep.equal([
      "spec.replicas: must be integer",
    ]);

    const s = copy(recorded(plans, "kubernetes:apps/v1:StatefulSet"));
    s.spec.template.spec.containers[0].ports = { containerPort: 26656 };
    expect(kubeSchemaProblems("kubernetes:apps/v1:StatefulSet", s)).to.deep.equal([
      "spec.template.spec.containers[0].ports: must be array",
    ]);
  });

  it("reports an unknown field of a built-in kind, at any depth", () => {
    const d = copy(recorded(plans, "kubernetes:apps/v1:Deployment"));
    d.spec.template.spec.containers[0].imagePullPolicyy = "Always";
    expect(kubeSchemaProblems("kubernetes:apps/v1:Deployment", d)).to.deep.equal([
      "spec.template.spec.containers[0].imagePullPolicyy: unknown field (not in the schema)",
    ]);

    const cm = copy(recorded(plans, "kubernetes:core/v1:ConfigMap"));
    cm.datas = cm.data;
    cm.metadata.label = { a: "b" };
    expect(kubeSchemaProblems("kubernetes:core/v1:ConfigMap", cm)).to.deep.equal([
      "metadata.label: unknown field (not in the schema)",
      "datas: unknown field (not in the schema)",
    ]);

    const np = copy(recorded(plans, "kubernetes:networking.k8s.io/v1:NetworkPolicy"));
    np.spec.policyType = np.spec.policyTypes;
    expect(kubeSchemaProblems("kubernetes:networking.k8s.io/v1:NetworkPolicy", np)).to.deep.equal([
      "spec.policyType: unknown field (not in the schema)",
    ]);
  });

  it("accepts any keys of a map (labels, data) and reports a wrong value type in one", () => {
    const cm = copy(recorded(plans, "kubernetes:core/v1:ConfigMap"));
    cm.metadata.labels = { ...cm.metadata.labels, "example.com/any-key": "x" };
    cm.data = { ...cm.data, "any.file": "text" };
    expect(kubeSchemaProblems("kubernetes:core/v1:ConfigMap", cm)).to.deep.equal([]);
    cm.data["any.file"] = 3;
    expect(kubeSchemaProblems("kubernetes:core/v1:ConfigMap", cm)).to.deep.equal([
      'data["any.file"]: must be string',
    ]);
  });

  it("reports an enum value out of range, a missing required field and a wrong kind", () => {
    const d = copy(recorded(plans, "kubernetes:apps/v1:Deployment"));
    d.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
    delete d.spec.selector;
    d.kind = "StatefulSet";
    const problems = kubeSchemaProblems("kubernetes:apps/v1:Deployment", d);
    expect(problems).to.include(
      'spec.template.spec.containers[0].imagePullPolicy: must be equal to one of the allowed values: ["Always","IfNotPresent","Never"]',
    );
    expect(problems).to.include("spec: must have required property selector");
    expect(
      problems.some((p) => p.startsWith("kind: must be equal to one of the allowed")),
    ).to.equal(true);
  });

  it("checks the monitoring CRDs: a wrong type and an unknown field of a PrometheusRule", () => {
    const type = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
    const pr = copy(recorded(plans, type));
    pr.spec.groups[0].rules[0].for = 300;
    expect(kubeSchemaProblems(type, pr)).to.deep.equal([
      "spec.groups[0].rules[0].for: must be string",
    ]);

    const pr2 = copy(recorded(plans, type));
    pr2.spec.groups[0].rules[0].severity = "critical";
    expect(kubeSchemaProblems(type, pr2)).to.deep.equal([
      "spec.groups[0].rules[0].severity: unknown field (not in the schema)",
    ]);

    const smType = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
    const sm = copy(recorded(plans, smType));
    sm.spec.endpoints[0].intervall = "30s";
    expect(kubeSchemaProblems(smType, sm)).to.deep.equal([
      "spec.endpoints[0].intervall: unknown field (not in the schema)",
    ]);
  });

  it("fails a type token it has no schema for, so no new kind goes unchecked", () => {
    for (const type of [
      "kubernetes:apps/v1:Deploymentt",
      "kubernetes:example.com/v1:Widget",
      "kubernetes:monitoring.coreos.com/v9:PrometheusRule",
      "kubernetes:yaml/v2:ConfigGroup",
      "kubernetes:helm.sh/v3:Chart",
    ]) {
      const problems = kubeSchemaProblems(type, { metadata: { name: "x" } });
      expect(problems, type).to.have.length(1);
      expect(problems[0], type).to.match(/: (no schema|not a Kubernetes object type)/);
    }
  });
});
