/**
 * Immutable backups (drstack:backup.immutability): S3 Object Lock on the bucket and its replica,
 * delete markers kept out of the replica, the replica and its key in another account; GCS soft
 * delete for the window, the replica in another project; the settings' errors. Asserts the inputs
 * each resource sends (planner records).
 */
import { expect } from "chai";
import type { ResourceRecord } from "../planner/monitor";
import { planStack, type StackPlan } from "../planner/plan";
import { byType, one, planShipped, planWithConfig, projectRoot } from "./support/project";

type Obj = Record<string, any>;
const inputs = (r: ResourceRecord) => r.inputs as Obj;
const LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";
const source = "example-network-primary-backups";
const replica = `${source}-replica`;

async function drPlan(backup: object): Promise<StackPlan> {
  const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
  return planStack("dr", {
    projectDir: projectRoot(),
    stackOutputs: outputs,
    configOverrides: { "drstack:backup": JSON.stringify(backup) },
  });
}

async function configError(stack: string, backup: object): Promise<string> {
  try {
    await planWithConfig(stack, { "drstack:backup": JSON.stringify(backup) });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a configuration error");
}

describe("storage: immutable backups on AWS", () => {
  let plan: StackPlan;
  before(async () => {
    plan = (await planShipped()).find((p) => p.stack === "primary")!;
  });

  it("creates both buckets with Object Lock and a governance default retention of the retention days", () => {
    for (const b of byType(plan, "aws:s3/bucket:Bucket"))
      expect(inputs(b).objectLockEnabled, inputs(b).bucket).to.equal(true);
    const locks = byType(plan, LOCK).map(inputs);
    expect(locks.map((l) => [l.bucket, l.objectLockEnabled, l.rule])).to.have.deep.members([
      [source, "Enabled", { defaultRetention: { mode: "GOVERNANCE", days: 35 } }],
      [replica, "Enabled", { defaultRetention: { mode: "GOVERNANCE", days: 35 } }],
    ]);
  });

  it("protects both KMS keys (deleting one loses every backup it encrypts)", () => {
    const keys = byType(plan, "aws:kms/key:Key");
    expect(keys).to.have.length(2);
    for (const k of keys) expect(k.protect, k.name).to.equal(true);
  });

  it("never lets the replication role replicate deletes by default", () => {
    const policy = JSON.parse(
      inputs(one(plan, "aws:iam/rolePolicy:RolePolicy", "primary-backups-replication-policy"))
        .policy,
    );
    const actions = policy.Statement.flatMap((s: Obj) => s.Action) as string[];
    expect(actions).to.include("s3:ReplicateObject").and.not.include("s3:ReplicateDelete");
  });

  it("follows mode, days and replicateDeletes", async () => {
    const p = await planWithConfig("primary", {
      "drstack:backup": JSON.stringify({
        immutability: { mode: "compliance", days: 10, replicateDeletes: true },
      }),
    });
    for (const l of byType(p, LOCK))
      expect(inputs(l).rule).to.deep.equal({ defaultRetention: { mode: "COMPLIANCE", days: 10 } });
    const [rep] = byType(p, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
    expect(inputs(rep).rules[0].deleteMarkerReplication).to.deep.equal({ status: "Enabled" });
  });

  it("mode off: no Object Lock anywhere", async () => {
    const p = await planWithConfig("primary", {
      "drstack:backup": JSON.stringify({ immutability: { mode: "off" } }),
    });
    expect(byType(p, LOCK)).to.deep.equal([]);
    for (const b of byType(p, "aws:s3/bucket:Bucket"))
      expect(inputs(b).objectLockEnabled).to.equal(false);
  });

  describe("a replica in another account", () => {
    let p: StackPlan;
    const roleArn = "arn:aws:iam::210987654321:role/drstack-replica";
    before(async () => {
      p = await planWithConfig("primary", {
        "drstack:backup": JSON.stringify({
          immutability: { replicaAccount: { accountId: "210987654321", roleArn } },
        }),
      });
    });

    it("creates the replica bucket and key through a provider assuming the replica account's role", () => {
      const providers = byType(p, "pulumi:providers:aws");
      const other = providers.find((x) => inputs(x).assumeRoles);
      expect(other, "a second aws provider").to.not.equal(undefined);
      // Provider inputs reach the engine as strings (nested values JSON-encoded).
      const roles = inputs(other!).assumeRoles;
      expect((typeof roles === "string" ? JSON.parse(roles) : roles)[0].roleArn).to.equal(roleArn);
      expect(inputs(other!).region).to.equal("us-west-2");
      const replicaBucket = byType(p, "aws:s3/bucket:Bucket").find(
        (b) => inputs(b).bucket === replica,
      )!;
      expect(replicaBucket.provider).to.contain(other!.urn);
      const sourceBucket = byType(p, "aws:s3/bucket:Bucket").find(
        (b) => inputs(b).bucket === source,
      )!;
      expect(sourceBucket.provider).to.not.contain(other!.urn);
      const replicaKey = one(p, "aws:kms/key:Key", "primary-backups-replica-key");
      expect(replicaKey.provider).to.contain(other!.urn);
    });

    it("gives the replica key a policy of its own: the other account administers, the role only encrypts", () => {
      const key = one(p, "aws:kms/key:Key", "primary-backups-replica-key");
      const policy = JSON.parse(inputs(key).policy);
      const admin = policy.Statement.find((s: Obj) => s.Sid === "ReplicaAccountAdministers");
      expect(admin.Principal.AWS).to.equal("arn:aws:iam::210987654321:root");
      const enc = policy.Statement.find((s: Obj) => s.Sid === "SourceReplicationEncrypts");
      expect(enc.Action).to.deep.equal(["kms:Encrypt", "kms:GenerateDataKey"]);
      expect(enc.Condition.StringLike["kms:ViaService"]).to.equal("s3.us-west-2.amazonaws.com");
      expect(inputs(one(p, "aws:kms/key:Key", "primary-backups-key"))).to.not.have.property(
        "policy",
      );
    });

    it("replicates into the other account, which owns what it receives and never gets a delete", () => {
      const [rep] = byType(p, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
      const dest = inputs(rep).rules[0].destination;
      expect(dest.account).to.equal("210987654321");
      expect(dest.accessControlTranslation).to.deep.equal({ owner: "Destination" });
      const bucketPolicy = byType(p, "aws:s3/bucketPolicy:BucketPolicy").find(
        (b) => inputs(b).bucket === replica,
      )!;
      const stmts = JSON.parse(inputs(bucketPolicy).policy).Statement as Obj[];
      const accept = stmts.find((s) => s.Sid === "AcceptReplicas")!;
      expect(accept.Action).to.not.include("s3:ReplicateDelete");
      expect(accept.Action).to.include("s3:ObjectOwnerOverrideToBucketOwner");
      expect(
        stmts.some((s) => s.Effect === "Deny"),
        "TLS-only statement kept",
      ).to.equal(true);
    });
  });
});

describe("storage: immutable backups on GCP", () => {
  it("keeps deleted or replaced objects restorable for the window (soft delete), defaulting to the retention", async () => {
    const plan = (await planShipped()).find((p) => p.stack === "dr")!;
    for (const b of byType(plan, "gcp:storage/bucket:Bucket"))
      expect(inputs(b).softDeletePolicy.retentionDurationSeconds).to.equal(35 * 86_400);
    const p = await drPlan({ immutability: { days: 60 } });
    for (const b of byType(p, "gcp:storage/bucket:Bucket"))
      expect(inputs(b).softDeletePolicy.retentionDurationSeconds).to.equal(60 * 86_400);
  });

  it("copy mode: puts the replica bucket in another project through a provider of its own", async () => {
    const p = await drPlan({
      gcpReplication: "copy",
      replicaRegion: "us-east1",
      immutability: { replicaProject: "acme-vault" },
    });
    const buckets = byType(p, "gcp:storage/bucket:Bucket");
    const rep = buckets.find((b) => String(inputs(b).name).endsWith("-replica"))!;
    expect(inputs(rep).project).to.equal("acme-vault");
    const prov = byType(p, "pulumi:providers:gcp").find((x) => inputs(x).project === "acme-vault");
    expect(prov, "a provider for the replica project").to.not.equal(undefined);
    expect(rep.provider).to.contain(prov!.urn);
  });
});

describe("storage: drstack:backup.immutability errors", () => {
  it("refuses a GCS window above 90 days and account/project fields of the other cloud, at once", async () => {
    const m = await configError("dr", {
      immutability: {
        days: 120,
        replicaAccount: {
          accountId: "210987654321",
          roleArn: "arn:aws:iam::210987654321:role/x",
        },
      },
    });
    expect(m)
      .to.contain("config.drstack:backup.immutability.days")
      .and.contain("at most 90")
      .and.contain("config.drstack:backup.immutability.replicaAccount")
      .and.contain("use replicaProject on GCP");
  });

  it("refuses a bad account id and an unknown mode, naming the fields", async () => {
    const m = await configError("primary", {
      immutability: { mode: "strict", replicaAccount: { accountId: "12", roleArn: "x" } },
    });
    expect(m)
      .to.contain("immutability.mode")
      .and.contain("immutability.replicaAccount.accountId")
      .and.contain("immutability.replicaAccount.roleArn");
  });
});
