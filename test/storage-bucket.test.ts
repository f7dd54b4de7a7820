/**
 * ReplicatedBucket as the engine would see it: the inputs each resource sends (planner records),
 * for the AWS primary site, the GCP DR site (dual-region) and GCP copy mode, and the config errors.
 */
import { expect } from "chai";
import type { ResourceRecord } from "../planner/monitor";
import { planStack, type StackPlan } from "../planner/plan";
import { byType, one, planShipped, planWithConfig, projectRoot } from "./support/project";

type Obj = Record<string, any>;

const S3 = "aws:s3/bucket:Bucket";
const inputs = (r: ResourceRecord) => r.inputs as Obj;

async function shipped(stack: string): Promise<StackPlan> {
  return (await planShipped()).find((p) => p.stack === stack)!;
}

function forBucket(plan: StackPlan, type: string, bucket: string): ResourceRecord[] {
  return byType(plan, type).filter((r) => inputs(r).bucket === bucket);
}

describe("storage: ReplicatedBucket on AWS (primary site, us-east-1)", () => {
  let plan: StackPlan;
  const source = "example-network-primary-backups";
  const replica = "example-network-primary-backups-replica";
  before(async () => {
    plan = await shipped("primary");
  });

  it("creates the bucket in the site's region and the replica in the paired region, protected", () => {
    const buckets = byType(plan, S3).map((r) => [inputs(r).bucket, inputs(r).region, r.protect]);
    expect(buckets).to.have.deep.members([
      [source, "us-east-1", true],
      [replica, "us-west-2", true],
    ]);
  });

  it("uses one explicit aws provider, a child of the component, for every AWS resource", () => {
    const providers = byType(plan, "pulumi:providers:aws");
    expect(providers).to.have.length(1);
    expect(inputs(providers[0]).region).to.equal("us-east-1");
    expect(providers[0].parent).to.equal(
      one(plan, "drstack:storage:ReplicatedBucket", "primary-backups").urn,
    );
    for (const r of plan.resources.filter((x) => x.type.startsWith("aws:")))
      expect(r.provider, r.name).to.contain(providers[0].urn);
  });

  it("versions both buckets and encrypts each with SSE-KMS under a rotating key of its own region", () => {
    const keys = byType(plan, "aws:kms/key:Key");
    expect(keys.map((k) => inputs(k).region).sort()).to.deep.equal(["us-east-1", "us-west-2"]);
    for (const k of keys) expect(inputs(k).enableKeyRotation).to.equal(true);
    for (const [bucket, region] of [
      [source, "us-east-1"],
      [replica, "us-west-2"],
    ]) {
      const v = forBucket(plan, "aws:s3/bucketVersioning:BucketVersioning", bucket);
      expect(v.map((x) => inputs(x).versioningConfiguration.status)).to.deep.equal(["Enabled"]);
      const sse = forBucket(
        plan,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        bucket,
      );
      expect(sse).to.have.length(1);
      const byDefault = inputs(sse[0]).rules[0].applyServerSideEncryptionByDefault;
      expect(byDefault.sseAlgorithm).to.equal("aws:kms");
      expect(byDefault.kmsMasterKeyId).to.match(new RegExp(`^arn:aws:kms:${region}:`));
      expect(inputs(sse[0]).region).to.equal(region);
    }
  });

  it("replicates everything but delete markers to the replica with RTC 15 min, metrics and the replica's key", () => {
    const [rep] = byType(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
    expect(inputs(rep).bucket).to.equal(source);
    const [rule] = inputs(rep).rules;
    expect(rule.status).to.equal("Enabled");
    expect(rule.deleteMarkerReplication).to.deep.equal({ status: "Disabled" });
    expect(rule.destination).to.not.have.property("account");
    expect(rule.sourceSelectionCriteria.sseKmsEncryptedObjects).to.deep.equal({
      status: "Enabled",
    });
    expect(rule.destination.bucket).to.equal(`arn:aws:s3:::${replica}`);
    expect(rule.destination.replicationTime).to.deep.equal({
      status: "Enabled",
      time: { minutes: 15 },
    });
    expect(rule.destination.metrics).to.deep.equal({
      status: "Enabled",
      eventThreshold: { minutes: 15 },
    });
    expect(rule.destination.encryptionConfiguration.replicaKmsKeyId).to.match(
      /^arn:aws:kms:us-west-2:/,
    );
    // Replication needs versioning first, and the role's permissions.
    const deps = rep.dependencies;
    for (const v of byType(plan, "aws:s3/bucketVersioning:BucketVersioning"))
      expect(deps).to.include(v.urn);
    expect(deps).to.include(
      one(plan, "aws:iam/rolePolicy:RolePolicy", "primary-backups-replication-policy").urn,
    );
  });

  it("gives the replication role only what replication needs, on these buckets and keys", () => {
    const role = one(plan, "aws:iam/role:Role", "primary-backups-replication-role");
    expect(JSON.parse(inputs(role).assumeRolePolicy).Statement).to.deep.equal([
      { Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    const policy = JSON.parse(
      inputs(one(plan, "aws:iam/rolePolicy:RolePolicy", "primary-backups-replication-policy"))
        .policy,
    );
    const actions = policy.Statement.flatMap((s: Obj) => s.Action);
    for (const a of actions) expect(a, "no wildcard actions").to.not.contain("*");
    const resources = policy.Statement.flatMap((s: Obj) => s.Resource) as string[];
    for (const r of resources)
      expect(r, "no wildcard resources").to.match(
        /^arn:aws:(s3:::example-network-primary-backups|kms:)/,
      );
    const write = policy.Statement.find((s: Obj) => s.Sid === "WriteReplica");
    expect(write.Resource).to.deep.equal([`arn:aws:s3:::${replica}/*`]);
    const decrypt = policy.Statement.find((s: Obj) => s.Sid === "DecryptSource");
    expect(decrypt.Condition.StringLike["kms:ViaService"]).to.equal("s3.us-east-1.amazonaws.com");
  });

  it("blocks public access, denies non-TLS requests and expires snapshots and old versions after 35 days", () => {
    for (const bucket of [source, replica]) {
      const [pab] = forBucket(
        plan,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        bucket,
      );
      expect(inputs(pab)).to.include({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const [pol] = forBucket(plan, "aws:s3/bucketPolicy:BucketPolicy", bucket);
      const [deny] = JSON.parse(inputs(pol).policy).Statement;
      expect(deny).to.deep.include({
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
      expect(deny.Resource).to.deep.equal([`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`]);
      const [lc] = forBucket(
        plan,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        bucket,
      );
      const rules = inputs(lc).rules as Obj[];
      expect(
        rules.filter((r) => r.expiration?.days).map((r) => [r.filter.prefix, r.expiration.days]),
      ).to.deep.equal([
        ["redis/", 35],
        ["keys/", 35],
      ]);
      expect(
        rules.find((r) => r.id === "noncurrent-versions")!.noncurrentVersionExpiration,
      ).to.deep.equal({ noncurrentDays: 35 });
    }
  });

  it("exports the bucket names and regions in the site facts", () => {
    expect(plan.outputs.backups).to.deep.include({
      bucket: {
        cloud: "aws",
        name: source,
        region: "us-east-1",
        replicaName: replica,
        replicaRegion: "us-west-2",
        replication: "s3-replication",
      },
      retentionDays: 35,
    });
  });

  it("follows drstack:backup: retention, replica region and bucket name", async () => {
    const p = await planWithConfig("primary", {
      "drstack:backup": JSON.stringify({
        retentionDays: 45,
        noncurrentDays: 60,
        replicaRegion: "us-east-2",
        bucketName: "acme-backups",
      }),
      // WAL archiving (PostgreSQL component) and backups share one repository.
      "drstack:postgres": JSON.stringify({ backup: { bucket: "acme-backups" } }),
    });
    expect(byType(p, S3).map((r) => [inputs(r).bucket, inputs(r).region])).to.have.deep.members([
      ["acme-backups", "us-east-1"],
      ["acme-backups-replica", "us-east-2"],
    ]);
    const [lc] = forBucket(
      p,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "acme-backups",
    );
    const rules = inputs(lc).rules as Obj[];
    expect(rules[0].expiration.days).to.equal(45);
    expect(
      rules.find((r) => r.id === "noncurrent-versions")!.noncurrentVersionExpiration.noncurrentDays,
    ).to.equal(60);
  });
});

describe("storage: ReplicatedBucket on GCP (dr site, europe-west1)", () => {
  it("is one dual-region bucket with turbo replication, uniform access, public access prevention, versioning, soft delete", async () => {
    const plan = await shipped("dr");
    const buckets = byType(plan, "gcp:storage/bucket:Bucket");
    expect(buckets).to.have.length(1);
    const b = inputs(buckets[0]);
    expect(b).to.deep.include({
      name: "example-network-dr-backups",
      location: "EU",
      rpo: "ASYNC_TURBO",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
    });
    expect(b.customPlacementConfig.dataLocations).to.deep.equal(["EUROPE-WEST1", "EUROPE-WEST4"]);
    expect(b.versioning).to.deep.equal({ enabled: true });
    expect(b.softDeletePolicy.retentionDurationSeconds).to.equal(35 * 86400);
    expect(
      b.lifecycleRules.map((r: Obj) => r.condition.age ?? r.condition.daysSinceNoncurrentTime),
    ).to.deep.equal([35, 35]);
    expect(b.encryption).to.equal(undefined);
    expect(buckets[0].protect).to.equal(true);
    expect(plan.outputs.backups).to.deep.include({
      bucket: {
        cloud: "gcp",
        name: "example-network-dr-backups",
        region: "europe-west1",
        replicaName: "example-network-dr-backups",
        replicaRegion: "europe-west4",
        replication: "gcs-dual-region",
      },
    });
  });

  it("copy mode: a bucket per region, CMEK, project, and an rclone copy job to the replica", async () => {
    const kms = "projects/acme-dr/locations/europe/keyRings/backups/cryptoKeys/bucket";
    const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
    const plan = await planStack("dr", {
      projectDir: projectRoot(),
      stackOutputs: outputs,
      configOverrides: {
        "drstack:backup": JSON.stringify({
          gcpReplication: "copy",
          replicaRegion: "us-east1",
          gcpProject: "acme-dr",
          kmsKeyName: kms,
        }),
      },
    });
    const buckets = byType(plan, "gcp:storage/bucket:Bucket").map(inputs);
    expect(
      buckets.map((b) => [b.name, b.location, b.project, b.encryption.defaultKmsKeyName]),
    ).to.have.deep.members([
      ["example-network-dr-backups", "EUROPE-WEST1", "acme-dr", kms],
      ["example-network-dr-backups-replica", "US-EAST1", "acme-dr", kms],
    ]);
    const copy = one(plan, "kubernetes:batch/v1:CronJob", "dr-backup-copy-replica");
    const env = Object.fromEntries(
      (inputs(copy).spec.jobTemplate.spec.template.spec.containers[0].env as Obj[]).map((e) => [
        e.name,
        e.value,
      ]),
    );
    expect(env).to.include({
      BUCKET: "example-network-dr-backups",
      TARGET_BUCKET: "example-network-dr-backups-replica",
      RCLONE_CONFIG_TARGET_TYPE: "google cloud storage",
    });
    expect(inputs(copy).spec.schedule).to.equal("*/15 * * * *");
  });
});

describe("storage: cross-cloud copy", () => {
  it("adds an rclone job copying the AWS bucket to the GCS bucket of the other cloud, alerted on like a backup", async () => {
    const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
    const plan = await planStack("primary", {
      projectDir: projectRoot(),
      stackOutputs: outputs,
      configOverrides: {
        "drstack:backup": JSON.stringify({
          crossCloud: { cloud: "gcp", bucket: "acme-offsite-backups" },
        }),
      },
    });
    const copy = one(plan, "kubernetes:batch/v1:CronJob", "primary-backup-copy-cross-cloud");
    const env = Object.fromEntries(
      (inputs(copy).spec.jobTemplate.spec.template.spec.containers[0].env as Obj[]).map((e) => [
        e.name,
        e.value,
      ]),
    );
    expect(env).to.include({
      BUCKET: "example-network-primary-backups",
      RCLONE_CONFIG_BACKUP_TYPE: "s3",
      TARGET_BUCKET: "acme-offsite-backups",
      RCLONE_CONFIG_TARGET_TYPE: "google cloud storage",
    });
    const [rule] = byType(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    const tooOld = (inputs(rule).spec.groups as Obj[])
      .flatMap((g) => g.rules)
      .find((r: Obj) => r.alert === "BackupTooOld");
    expect(tooOld.expr).to.contain("copy-cross-cloud");
  });
});

describe("storage: drstack:backup errors", () => {
  const bad = async (stack: string, value: object) => {
    try {
      const outputs = new Map((await planShipped()).map((p) => [p.stack, p.outputs]));
      await planStack(stack, {
        projectDir: projectRoot(),
        stackOutputs: outputs,
        configOverrides: { "drstack:backup": JSON.stringify(value) },
      });
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a configuration error");
  };

  it("rejects a replica in the site's own region, naming the field and a fix", async () => {
    const m = await bad("primary", { replicaRegion: "us-east-1" });
    expect(m)
      .to.contain("config.drstack:backup.replicaRegion")
      .and.contain("must differ from the site's region us-east-1")
      .and.contain("us-west-2");
  });

  it("rejects a dual-region pair on two continents, suggesting copy mode", async () => {
    const m = await bad("dr", { replicaRegion: "us-east1" });
    expect(m)
      .to.contain("dual-region bucket needs both regions on one continent")
      .and.contain("gcpReplication: copy");
  });

  it("rejects every bad cron schedule at once, naming each field", async () => {
    const m = await bad("primary", {
      schedules: { full: "0 2 * * 8", diff: "0 25 * * *", incr: "hourly" },
    });
    expect(m).to.contain("schedules.full").and.contain("day of week: 8 is outside 0-7");
    expect(m).to.contain("schedules.diff").and.contain("hour: 25 is outside 0-23");
    expect(m).to.contain("schedules.incr");
  });

  it("rejects a typo and a retention that is not a number, all at once", async () => {
    const m = await bad("primary", { retentionDay: 30, noncurrentDays: "30" });
    expect(m).to.contain('did you mean "retentionDays"');
    expect(m).to.contain("noncurrentDays: must be an integer");
  });

  it("rejects a backup bucket other than the PostgreSQL repository's bucket", async () => {
    const m = await bad("primary", { bucketName: "acme-backups" });
    expect(m)
      .to.contain("config.drstack:backup.bucketName")
      .and.contain("differs from the PostgreSQL repository bucket example-network-primary-backups");
  });

  it("rejects a cross-cloud copy to the site's own cloud", async () => {
    const m = await bad("primary", {
      crossCloud: { cloud: "aws", bucket: "other-bucket", region: "eu-west-1" },
    });
    expect(m).to.contain("crossCloud.cloud").and.contain("use gcp");
  });
});
