import { expect } from "chai";
import { rule as noPlaintext } from "../policies/rules/kubernetes/no-plaintext-secrets";
import { rule as pdbRequired } from "../policies/rules/kubernetes/pdb-required";
import { rule as restricted } from "../policies/rules/kubernetes/restricted-pods";
import {
  changed,
  cronJob,
  deployment,
  pdbFor,
  resource,
  runResourceRule,
  runStackRule,
  secretResource,
  statefulSet,
  validatorStatefulSet,
} from "./support/policy";

describe("rule pdb-required", () => {
  const sts = statefulSet("db");

  it("passes a StatefulSet with a PDB selecting its pods", async () => {
    expect((await runStackRule(pdbRequired, [sts, pdbFor(sts)])).messages).to.deep.equal([]);
  });

  it("fails a StatefulSet without one", async () => {
    expect((await runStackRule(pdbRequired, [sts])).messages[0]).to.include(
      "StatefulSet drstack-data/db has no PodDisruptionBudget",
    );
  });

  it("fails a PDB in another namespace or selecting other labels", async () => {
    expect(
      (await runStackRule(pdbRequired, [sts, changed(pdbFor(sts), "metadata.namespace", "other")]))
        .messages,
    ).to.have.length(1);
    expect(
      (
        await runStackRule(pdbRequired, [
          sts,
          changed(pdbFor(sts), "spec.selector.matchLabels", { app: "x" }),
        ])
      ).messages,
    ).to.have.length(1);
  });

  it("checks Deployments only when they mount a PersistentVolumeClaim", async () => {
    const web = deployment("web");
    expect((await runStackRule(pdbRequired, [web, sts, pdbFor(sts)])).messages).to.deep.equal([]);
    const withPvc = changed(web, "spec.template.spec.volumes", [
      { name: "data", persistentVolumeClaim: { claimName: "web-data" } },
    ]);
    expect((await runStackRule(pdbRequired, [withPvc])).messages[0]).to.include(
      "Deployment drstack-system/web",
    );
  });

  it("honours exemptNamespaces and is not applicable without stateful workloads", async () => {
    expect(
      (await runStackRule(pdbRequired, [sts], { exemptNamespaces: ["drstack-data"] }))
        .notApplicable,
    ).to.include("no stateful workloads");
    expect((await runStackRule(pdbRequired, [deployment()])).notApplicable).to.include(
      "no stateful workloads",
    );
  });
});

describe("rule no-plaintext-secrets", () => {
  it("passes a Secret whose data is a Pulumi secret, fails one whose data is plain (offline)", async () => {
    expect((await runResourceRule(noPlaintext, secretResource())).messages).to.deep.equal([]);
    const r = await runResourceRule(noPlaintext, secretResource("creds", undefined, false));
    expect(r.messages).to.deep.equal([
      "Secret creds: data (password) is not a Pulumi secret: it would be stored in plaintext in the state and shown in previews",
    ]);
  });

  it("checks stringData too, and ignores empty Secrets", async () => {
    const s = changed(
      changed(secretResource("creds", undefined, false), "data", undefined),
      "stringData",
      { token: "abc" },
    );
    expect((await runResourceRule(noPlaintext, s)).messages[0]).to.include(
      "stringData (token) is not a Pulumi secret",
    );
    expect(
      (
        await runResourceRule(
          noPlaintext,
          changed(secretResource("e", undefined, false), "data", {}),
        )
      ).messages,
    ).to.deep.equal([]);
  });

  it("when secretness is unknown (the real engine) flags literal-looking values only", async () => {
    const unknown = {
      ...secretResource("creds", {
        password: Buffer.from("changeme").toString("base64"),
        user: Buffer.from("k3J9-long-random-value-x").toString("base64"),
      }),
      secretInputs: undefined,
    };
    expect((await runResourceRule(noPlaintext, unknown)).messages).to.deep.equal([
      'Secret creds: data.password is the literal "changeme"',
    ]);
  });

  it("fails a password-like env var with a literal value, passes secretKeyRef", async () => {
    const d = deployment();
    const lit = changed(d, "spec.template.spec.containers[0].env", [
      { name: "PGPASSWORD", value: "hunter2" },
      { name: "LOG_LEVEL", value: "info" },
    ]);
    expect((await runResourceRule(noPlaintext, lit)).messages).to.deep.equal([
      "container main: env PGPASSWORD has a literal value; use valueFrom.secretKeyRef",
    ]);
    const ref = changed(d, "spec.template.spec.containers[0].env", [
      { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "pg", key: "password" } } },
    ]);
    expect((await runResourceRule(noPlaintext, ref)).messages).to.deep.equal([]);
  });
});

describe("rule restricted-pods", () => {
  const c0 = "spec.template.spec.containers[0].securityContext";

  it("passes restricted StatefulSets, Deployments and CronJobs", async () => {
    for (const w of [statefulSet(), validatorStatefulSet(), deployment(), cronJob()])
      expect((await runResourceRule(restricted, w)).messages, w.type).to.deep.equal([]);
  });

  const cases: [string, string, unknown, string][] = [
    ["runAsNonRoot false", `${c0}.runAsNonRoot`, false, "runAsNonRoot must be true"],
    [
      "privilege escalation",
      `${c0}.allowPrivilegeEscalation`,
      true,
      "allowPrivilegeEscalation must be false",
    ],
    [
      "capabilities kept",
      `${c0}.capabilities.drop`,
      ["NET_RAW"],
      "capabilities.drop must include ALL",
    ],
    ["capability added", `${c0}.capabilities.add`, ["SYS_ADMIN"], "adds capability SYS_ADMIN"],
    ["privileged", `${c0}.privileged`, true, "privileged"],
    [
      "seccomp unconfined",
      `${c0}.seccompProfile.type`,
      "Unconfined",
      "seccompProfile.type must be RuntimeDefault",
    ],
    ["hostNetwork", "spec.template.spec.hostNetwork", true, "hostNetwork is true"],
    ["hostPID", "spec.template.spec.hostPID", true, "hostPID is true"],
    [
      "hostPath",
      "spec.template.spec.volumes",
      [{ name: "root", hostPath: { path: "/" } }],
      "volume root is a hostPath",
    ],
    [
      "an nfs volume",
      "spec.template.spec.volumes",
      [{ name: "share", nfs: { server: "x", path: "/" } }],
      "volume share is a nfs (restricted allows only",
    ],
    ["unmasked /proc", `${c0}.procMount`, "Unmasked", "procMount Unmasked"],
    ["root user", `${c0}.runAsUser`, 0, "runAsUser is 0"],
  ];
  for (const [what, path, value, expected] of cases) {
    it(`fails ${what}`, async () => {
      const r = await runResourceRule(restricted, changed(deployment(), path, value));
      expect(r.messages).to.have.length(1);
      expect(r.messages[0]).to.include(expected);
    });
  }

  it("checks a CronJob's job template and init containers", async () => {
    const cj = changed(cronJob(), "spec.jobTemplate.spec.template.spec.initContainers", [
      {
        name: "init",
        image: "x",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ]);
    expect((await runResourceRule(restricted, cj)).messages).to.deep.equal([]);
    const bad = changed(
      cj,
      "spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.capabilities",
      {},
    );
    expect((await runResourceRule(restricted, bad)).messages[0]).to.include(
      "container init: capabilities.drop must include ALL",
    );
  });

  it("ignores non-workloads and exempt namespaces", async () => {
    expect(
      (
        await runResourceRule(
          restricted,
          resource("kubernetes:core/v1:Service", "svc", { metadata: { name: "svc" } }),
        )
      ).messages,
    ).to.deep.equal([]);
    const bad = changed(deployment(), `${c0}.privileged`, true);
    expect(
      (await runResourceRule(restricted, bad, { exemptNamespaces: ["drstack-system"] })).messages,
    ).to.deep.equal([]);
  });
});
