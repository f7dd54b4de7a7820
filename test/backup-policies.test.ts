/**
 * The backup, storage and monitoring policies: they pass the shipped stacks, and each catches the
 * unsafe change it exists for, both in a planned stack (bad drstack:backup settings) and in the
 * recorded resources with one thing changed (the way a hand-written program would get it wrong).
 */
import { expect } from "chai";
import type { ResourceSpec } from "../policies/lib/args";
import type { DrRule } from "../policies/lib/rule";
import { runPolicies } from "../policies/lib/runner";
import { rule as backupFrequency } from "../policies/rules/backup/backup-frequency";
import { rule as backupRetention } from "../policies/rules/backup/backup-retention";
import { rule as restoreVerification } from "../policies/rules/backup/restore-verification-present";
import { rule as backupAlerts } from "../policies/rules/monitoring/backup-alerts-present";
import { rule as bucketEncrypted } from "../policies/rules/storage/bucket-encrypted";
import { rule as bucketNotPublic } from "../policies/rules/storage/bucket-not-public";
import { rule as bucketReplicated } from "../policies/rules/storage/bucket-replicated-cross-region";
import { rule as bucketVersioned } from "../policies/rules/storage/bucket-versioned";
import { planStack, type StackPlan } from "../planner/plan";
import { changed, runStackRule } from "./support/policy";
import { planShipped, projectRoot } from "./support/project";

const RULES: DrRule[] = [
  backupFrequency,
  backupRetention,
  restoreVerification,
  backupAlerts,
  bucketEncrypted,
  bucketNotPublic,
  bucketReplicated,
  bucketVersioned,
];

async function withBackup(stack: string, value: object): Promise<StackPlan> {
  const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
  return planStack(stack, {
    projectDir: projectRoot(),
    stackOutputs: outputs,
    configOverrides: { "drstack:backup": JSON.stringify(value) },
  });
}

/** The plan's resources as a stack rule sees them (state after a preview). */
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

describe("policies: backup, storage, monitoring", () => {
  it("pass every shipped stack, and apply to the stacks with backups", async () => {
    const plans = await planShipped();
    const report = await runPolicies(plans, RULES);
    expect(report.violations).to.deep.equal([]);
    const primary = specsOf(plans.find((p) => p.stack === "primary")!);
    for (const rule of RULES) {
      const run = await runStackRule(rule, primary);
      expect(run.notApplicable, rule.name).to.equal(undefined);
    }
  });

  it("backup-retention: a 7-day retention is caught in the bucket lifecycle and in pgBackRest", async () => {
    const plan = await withBackup("primary", { retentionDays: 7 });
    const report = await runPolicies([plan], [backupRetention]);
    const messages = report.violations.map((v) => v.message);
    expect(
      messages.some((m) =>
        /lifecycle rule expire-redis \(prefix redis\/\) deletes objects after 7 days, less than 30/.test(
          m,
        ),
      ),
    ).to.equal(true);
    expect(messages.some((m) => /deletes old versions after 7 days/.test(m))).to.equal(true);
    expect(
      messages.some((m) => /pgBackRest keeps full backups 7 days, less than 30/.test(m)),
    ).to.equal(true);
  });

  it("backup-frequency: a monthly full backup is not at least weekly; a 31-February schedule never runs", async () => {
    const plan = await withBackup("primary", {
      schedules: { full: "0 0 1 * *", diff: "0 0 30 2 *" },
    });
    const report = await runPolicies([plan], [backupFrequency]);
    const messages = report.violations.map((v) => v.message);
    expect(messages).to.have.length(2);
    expect(messages.find((m) => m.includes("pg-full"))).to.contain(
      "31d between runs, not shorter than the 30-day rehydration window",
    );
    expect(messages.find((m) => m.includes("pg-diff")))
      .to.contain("forever (it never fires)")
      .and.contain("30-day rehydration window");
    // A longer limit accepts the monthly full, never the schedule that does not fire.
    const lenient = await runStackRule(backupFrequency, specsOf(plan), {
      maxIntervalDays: 31,
      rehydrationWindowDays: 60,
    });
    expect(lenient.messages).to.have.length(1);
    const biweekly = await withBackup("primary", {
      schedules: { full: "0 0 * * 0", diff: "0 0 1,15 * *" },
    });
    expect((await runStackRule(backupFrequency, specsOf(biweekly))).messages).to.deep.equal([
      'backup job pg-diff: schedule "0 0 1,15 * *" can leave 17d between runs, more than 7 days',
    ]);
  });

  describe("catch one unsafe change in the primary stack's resources", () => {
    let base: ResourceSpec[];
    before(async () => {
      base = specsOf((await planShipped()).find((p) => p.stack === "primary")!);
    });

    it("bucket-versioned: versioning suspended on the replica", async () => {
      const run = await runStackRule(
        bucketVersioned,
        edit(
          base,
          "primary-backups-replica-versioning",
          "versioningConfiguration.status",
          "Suspended",
        ),
      );
      expect(run.messages).to.deep.equal([
        "S3 bucket example-network-primary-backups-replica has no versioning (no BucketVersioning with status Enabled)",
      ]);
    });

    it("bucket-encrypted: SSE-S3 instead of SSE-KMS, and no encryption at all", async () => {
      const aes = await runStackRule(
        bucketEncrypted,
        edit(base, "primary-backups-sse", "rules[0].applyServerSideEncryptionByDefault", {
          sseAlgorithm: "AES256",
        }),
      );
      expect(aes.messages).to.deep.equal([
        "S3 bucket example-network-primary-backups encrypts with AES256; use aws:kms or aws:kms:dsse",
      ]);
      expect(
        (
          await runStackRule(
            bucketEncrypted,
            edit(base, "primary-backups-sse", "rules[0].applyServerSideEncryptionByDefault", {
              sseAlgorithm: "AES256",
            }),
            { allowS3ManagedKeys: true },
          )
        ).messages,
      ).to.deep.equal([]);
      const none = await runStackRule(
        bucketEncrypted,
        base.filter((s) => s.name !== "primary-backups-replica-sse"),
      );
      expect(none.messages).to.deep.equal([
        "S3 bucket example-network-primary-backups-replica has no default encryption",
      ]);
    });

    it("bucket-replicated-cross-region: replica in the same region, replication disabled, no RTC", async () => {
      const same = await runStackRule(
        bucketReplicated,
        edit(base, "primary-backups-replica-bucket", "region", "us-east-1"),
      );
      expect(same.messages).to.deep.equal([
        "S3 bucket example-network-primary-backups in us-east-1 replicates only to example-network-primary-backups-replica (us-east-1): no replica in another region",
      ]);
      const off = await runStackRule(
        bucketReplicated,
        edit(base, "primary-backups-replication", "rules[0].status", "Disabled"),
      );
      expect(off.messages).to.have.length(2); // the source is unreplicated, and the replica is no longer a destination
      const noRtc = await runStackRule(
        bucketReplicated,
        edit(
          base,
          "primary-backups-replication",
          "rules[0].destination.replicationTime",
          undefined,
        ),
      );
      expect(noRtc.messages[0]).to.contain("without Replication Time Control");
    });

    it("bucket-not-public: a public access block flag off, and a policy granting everyone", async () => {
      const flag = await runStackRule(
        bucketNotPublic,
        edit(base, "primary-backups-public-access", "restrictPublicBuckets", false),
      );
      expect(flag.messages).to.deep.equal([
        "S3 bucket example-network-primary-backups may become public: flags not all true (restrictPublicBuckets)",
      ]);
      const open = JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::example-network-primary-backups/*",
          },
        ],
      });
      const pol = await runStackRule(
        bucketNotPublic,
        edit(base, "primary-backups-tls-only", "policy", open),
      );
      expect(pol.messages).to.deep.equal([
        'S3 bucket example-network-primary-backups has a policy statement allowing Principal "*" without a condition',
      ]);
    });

    it("restore-verification-present: backups without the verify job, or verified only monthly", async () => {
      const gone = await runStackRule(
        restoreVerification,
        base.filter((s) => s.name !== "primary-backup-verify"),
      );
      expect(gone.messages[0]).to.contain("no restore verification CronJob proves they restore");
      const monthly = await runStackRule(
        restoreVerification,
        edit(base, "primary-backup-verify", "spec.schedule", "0 6 1 * *"),
      );
      expect(monthly.messages).to.deep.equal([
        "restore verification runs less often than every 7 days (0 6 1 * *)",
      ]);
    });

    it("backup-alerts-present: a PrometheusRule without BackupTooOld, and no PrometheusRule at all", async () => {
      const rule = base.find(
        (s) => s.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
      )!;
      const groups = (
        (rule.props as { spec: { groups: unknown } }).spec.groups as {
          name: string;
          rules: { alert: string }[];
        }[]
      ).map((g) => ({ ...g, rules: g.rules.filter((r) => r.alert !== "BackupTooOld") }));
      const missing = await runStackRule(
        backupAlerts,
        edit(base, rule.name, "spec.groups", groups),
      );
      expect(missing.messages).to.deep.equal([
        "backup alerts missing from the stack's PrometheusRules: BackupTooOld",
      ]);
      const none = await runStackRule(
        backupAlerts,
        base.filter((s) => s !== rule),
      );
      expect(none.messages[0]).to.contain("no PrometheusRule alerts on them");
    });
  });

  it("GCS: a single-region bucket without a copy job is caught; copy mode with its job passes", async () => {
    const copy = await withBackup("dr", { gcpReplication: "copy", replicaRegion: "europe-west4" });
    const specs = specsOf(copy);
    expect((await runStackRule(bucketReplicated, specs)).messages).to.deep.equal([]);
    const noJob = specs.filter((s) => s.name !== "dr-backup-copy-replica");
    expect((await runStackRule(bucketReplicated, noJob)).messages).to.deep.equal([
      "GCS bucket example-network-dr-backups stores data only in europe-west1 and no copy job copies it to another region",
      "GCS bucket example-network-dr-backups-replica stores data only in europe-west4 and no copy job copies it to another region",
    ]);
    const pub = await runStackRule(
      bucketNotPublic,
      edit(specs, "dr-backups-bucket", "publicAccessPrevention", "inherited"),
    );
    expect(pub.messages).to.deep.equal([
      "GCS bucket example-network-dr-backups does not enforce public access prevention",
    ]);
  });
});
