/**
 * Credentials across a stack swap: the role passwords and the Redis password are generated once,
 * by the network's credentials site, and stay the same in every site before and after a flip.
 */
import { expect } from "chai";
import { flipRoles } from "../failover/flip";
import { swapHazards, resourceDiff } from "../failover/diff";
import { SECRET_KEYS } from "../components/postgres/workload";
import { credentialsFromOutputs } from "../components/postgres/facts";
import { planAll, type StackPlan } from "../planner/plan";
import { one, projectRoot, shippedNetworkText, tempFile } from "./support/project";

type Obj = Record<string, any>;

const PASSWORD = "random:index/randomPassword:RandomPassword";
const ROLE_KEYS = [
  SECRET_KEYS.superuser,
  SECRET_KEYS.replication,
  SECRET_KEYS.rewind,
  SECRET_KEYS.app,
];

function passwords(plan: StackPlan): string[] {
  return plan.resources
    .filter((r) => r.type === PASSWORD)
    .map((r) => r.name)
    .sort();
}

function roleSecret(plan: StackPlan): Obj {
  const data = (
    one(plan, "kubernetes:core/v1:Secret", `${plan.stack}-postgres-credentials`).inputs as Obj
  ).stringData as Obj;
  return Object.fromEntries(ROLE_KEYS.map((k) => [k, data[k]]));
}

function redisPassword(plan: StackPlan): string {
  return (one(plan, "kubernetes:core/v1:Secret", `${plan.stack}-redis-auth`).inputs as Obj)
    .stringData.password;
}

describe("credentials across a stack swap", function () {
  this.timeout(300_000);
  let pre: Map<string, StackPlan>;
  let after: Map<string, StackPlan>;
  let back: Map<string, StackPlan>;

  before(async () => {
    const text = shippedNetworkText().replace(/^credentialsSite: primary\n/m, "");
    const flip = flipRoles(text, "dr");
    const flipBack = flipRoles(flip.text, "primary");
    const plan = async (t: string) =>
      new Map(
        (
          await planAll({
            projectDir: projectRoot(),
            networkFile: tempFile("network.yaml", t),
            stacks: ["primary", "dr"],
          })
        ).map((p) => [p.stack, p]),
      );
    pre = await plan(text);
    after = await plan(flip.text);
    back = await plan(flipBack.text);
  });

  it("before: the primary generates the role and Redis passwords, the standby uses them", () => {
    const p = pre.get("primary")!;
    const d = pre.get("dr")!;
    expect(passwords(p)).to.include.members([
      "primary-postgres-superuser-password",
      "primary-postgres-replication-password",
      "primary-postgres-rewind-password",
      "primary-postgres-app-password",
      "primary-redis-password",
    ]);
    // The standby generates no credential of the data: only its backup cipher, its
    // Pushgateway's and its Patroni REST API's own passwords (site-local, nothing stored depends on them).
    expect(passwords(d)).to.deep.equal([
      "dr-monitoring-pushgateway-password",
      "dr-postgres-backup-cipher",
      "dr-postgres-restapi-password",
    ]);
    expect(roleSecret(d)).to.deep.equal(roleSecret(p));
    expect(redisPassword(d)).to.equal(redisPassword(p));
  });

  it("after the flip: the promoted site keeps the passwords its data was created with", () => {
    const p = after.get("primary")!;
    const d = after.get("dr")!;
    // No new generated credentials in the promoted site, none deleted in the old primary.
    expect(passwords(d)).to.deep.equal(passwords(pre.get("dr")!));
    expect(passwords(p)).to.deep.equal(passwords(pre.get("primary")!));
    for (const stack of ["primary", "dr"]) {
      expect(roleSecret(after.get(stack)!), stack).to.deep.equal(roleSecret(pre.get("primary")!));
      expect(redisPassword(after.get(stack)!), stack).to.equal(redisPassword(pre.get("primary")!));
    }
    // The promoted site reads them from the credentials site's stack; the old primary (now a
    // standby) follows the promoted site for replication.
    expect(d.stackReferences).to.include("primary");
    expect(p.stackReferences).to.include("dr");
    const pCm = one(p, "kubernetes:core/v1:ConfigMap", "primary-postgres-config").inputs as Obj;
    expect(JSON.stringify(pCm.data)).to.include("standby_cluster");
    const dCm = one(d, "kubernetes:core/v1:ConfigMap", "dr-postgres-config").inputs as Obj;
    expect(JSON.stringify(dCm.data)).to.not.include("standby_cluster");
  });

  it("the swap's resource diff has no credential hazards; rewriting a password would be one", () => {
    const diffs = ["primary", "dr"].map((s) =>
      resourceDiff(s, pre.get(s)!.resources, after.get(s)!.resources),
    );
    expect(swapHazards(diffs)).to.deep.equal([]);
    // Only the old primary's Secret gains the key for the new primary's repository passphrase.
    const p = diffs[0].changed.find((c) => c.name === "primary-postgres-credentials");
    expect(p?.rewrittenKeys).to.equal(undefined);
    // A site that generated its own passwords instead is flagged.
    const d = pre.get("dr")!;
    const forged = d.resources.map((r) =>
      r.name === "dr-postgres-credentials"
        ? {
            ...r,
            inputs: {
              ...r.inputs,
              stringData: { ...(r.inputs.stringData as Obj), [SECRET_KEYS.superuser]: "new" },
            },
          }
        : r,
    );
    expect(swapHazards([resourceDiff("dr", d.resources, forged)])).to.deep.equal([
      `stack dr: rewrites ${SECRET_KEYS.superuser} of Secret dr-postgres-credentials: the running cluster's data keeps the old values`,
    ]);
  });

  it("swapping back restores every stack's plan", () => {
    for (const s of ["primary", "dr"]) {
      const diff = resourceDiff(s, pre.get(s)!.resources, back.get(s)!.resources);
      expect(
        diff.added.map((r) => r.name),
        s,
      ).to.deep.equal([]);
      expect(
        diff.removed.map((r) => r.name),
        s,
      ).to.deep.equal([]);
      // The topology ConfigMap carries the pinned credentialsSite; nothing else changes.
      expect(
        diff.changed.map((r) => r.name),
        s,
      ).to.deep.equal([`${s}-topology`]);
    }
  });

  it("a missing credentials output names the stack and the setting", () => {
    expect(() => credentialsFromOutputs({ secrets: { superuser: "x" } }, "primary")).to.throw(
      /stack primary has no postgres\.secrets\.replication\/rewind\/app output: .*credentialsSite/,
    );
    expect(
      credentialsFromOutputs(
        { secrets: { superuser: "a", replication: "b", rewind: "c", app: "d", cipherPass: "e" } },
        "primary",
      ),
    ).to.deep.equal({ superuser: "a", replication: "b", rewind: "c", app: "d" });
  });
});
