/** The backup-bucket-immutable rule: passes the shipped stacks, fails each mutable change. */
import { expect } from "chai";
import { rule } from "../policies/rules/storage/backup-bucket-immutable";
import type { StackPlan } from "../planner/plan";
import { changed, runStackRule, type ResourceSpec } from "./support/policy";
import { planShipped } from "./support/project";

function specsOf(plan: StackPlan): ResourceSpec[] {
  return plan.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: structuredClone(Object.keys(r.outputs ?? {}).length ? r.outputs : r.inputs),
  }));
}

function edit(specs: ResourceSpec[], name: string, path: string, value: unknown): ResourceSpec[] {
  expect(
    specs.some((s) => s.name === name),
    `resource ${name}`,
  ).to.equal(true);
  return specs.map((s) => (s.name === name ? changed(s, path, value) : s));
}

describe("policy backup-bucket-immutable", () => {
  let primary: ResourceSpec[];
  let dr: ResourceSpec[];
  before(async () => {
    const plans = await planShipped();
    primary = specsOf(plans.find((p) => p.stack === "primary")!);
    dr = specsOf(plans.find((p) => p.stack === "dr")!);
  });

  it("passes the shipped AWS and GCP stacks and applies to both", async () => {
    for (const specs of [primary, dr]) {
      const run = await runStackRule(rule, specs);
      expect(run.notApplicable).to.equal(undefined);
      expect(run.messages).to.deep.equal([]);
    }
  });

  it("fails an S3 bucket created without Object Lock", async () => {
    const run = await runStackRule(
      rule,
      edit(primary, "primary-backups-replica-bucket", "objectLockEnabled", false),
    );
    expect(run.messages).to.deep.equal([
      "S3 bucket example-network-primary-backups-replica was created without Object Lock",
    ]);
  });

  it("fails a lock shorter than minDays, and follows minDays", async () => {
    const short = edit(primary, "primary-backups-object-lock", "rule.defaultRetention.days", 3);
    expect((await runStackRule(rule, short)).messages).to.deep.equal([
      "S3 bucket example-network-primary-backups locks objects for 3 days; at least 7 required",
    ]);
    expect((await runStackRule(rule, short, { minDays: 3 })).messages).to.deep.equal([]);
    expect((await runStackRule(rule, primary, { minDays: 60 })).messages).to.have.length(2);
  });

  it("fails Object Lock without a default retention", async () => {
    const run = await runStackRule(
      rule,
      primary.filter((s) => s.name !== "primary-backups-replica-object-lock"),
    );
    expect(run.messages).to.deep.equal([
      "S3 bucket example-network-primary-backups-replica has Object Lock but no default retention",
    ]);
  });

  it("fails delete-marker replication", async () => {
    const run = await runStackRule(
      rule,
      edit(
        primary,
        "primary-backups-replication",
        "rules[0].deleteMarkerReplication.status",
        "Enabled",
      ),
    );
    expect(run.messages).to.have.length(1);
    expect(run.messages[0]).to.contain("replicates delete markers");
  });

  it("fails a GCS bucket whose deleted objects are gone at once", async () => {
    const run = await runStackRule(
      rule,
      edit(dr, "dr-backups-bucket", "softDeletePolicy.retentionDurationSeconds", 0),
    );
    expect(run.messages).to.deep.equal([
      "GCS bucket example-network-dr-backups keeps deleted objects 0 days; at least 7 required",
    ]);
  });
});
