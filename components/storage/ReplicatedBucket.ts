/**
 * `drstack:storage:ReplicatedBucket`: the site's backup bucket and its copy in another region.
 * - AWS: bucket in the site's region and a replica bucket in `replicaRegion` (the v7 `region`
 *   input, one explicit provider), versioning, Object Lock (default retention, governance or
 *   compliance), SSE-KMS with a protected key per region, replication with Replication Time
 *   Control and metrics (delete markers not replicated unless asked), lifecycle, public access
 *   block, TLS-only bucket policy, a least-privilege replication role; optionally the replica and
 *   its key in another account (created through a role there, key policy not shared).
 * - GCP: a dual-region bucket with turbo replication, or (`gcpReplication: copy`) a bucket per
 *   region (the replica optionally in another project) and a copy job; uniform access, public
 *   access prevention, versioning, soft delete for the immutability window, lifecycle, optional
 *   CMEK.
 * Policy documents, rules and names come from `./plan` (pure).
 */
import { Provider as AwsProvider } from "@pulumi/aws/provider";
import { Role } from "@pulumi/aws/iam/role";
import { RolePolicy } from "@pulumi/aws/iam/rolePolicy";
import { Key } from "@pulumi/aws/kms/key";
import { Bucket as S3Bucket } from "@pulumi/aws/s3/bucket";
import { BucketLifecycleConfiguration } from "@pulumi/aws/s3/bucketLifecycleConfiguration";
import { BucketObjectLockConfiguration } from "@pulumi/aws/s3/bucketObjectLockConfiguration";
import { BucketPolicy } from "@pulumi/aws/s3/bucketPolicy";
import { BucketPublicAccessBlock } from "@pulumi/aws/s3/bucketPublicAccessBlock";
import { BucketReplicationConfig } from "@pulumi/aws/s3/bucketReplicationConfig";
import { BucketServerSideEncryptionConfiguration } from "@pulumi/aws/s3/bucketServerSideEncryptionConfiguration";
import { BucketVersioning } from "@pulumi/aws/s3/bucketVersioning";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import { Bucket as GcsBucket } from "@pulumi/gcp/storage/bucket";
import * as pulumi from "@pulumi/pulumi";
import { type BucketSettings, gcpContinent, type StorageTarget } from "./settings";
import type { Site } from "../topology/model";
import {
  bucketNames,
  gcsBucketSettings,
  replicaBucketStatements,
  replicaKeyPolicy,
  replicationRolePolicy,
  S3_ASSUME_ROLE_POLICY,
  s3LifecycleRules,
  s3ObjectLockRule,
  s3ReplicationRule,
  tlsOnlyBucketPolicy,
  withStatements,
} from "./plan";

export interface ReplicatedBucketArgs {
  readonly site: Site;
  /** Network name (part of the default bucket names). */
  readonly networkName: string;
  /** The site's `drstack:backup` settings (retention, replica region, GCP mode, CMEK, names). */
  readonly settings: BucketSettings;
  /** Labels / tags on every bucket and key. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A copy job the bucket needs (GCP copy mode, cross-cloud): `BackupSchedule` runs it. */
export interface BucketCopy {
  readonly role: string;
  readonly target: StorageTarget<pulumi.Input<string>>;
}

export class ReplicatedBucket extends pulumi.ComponentResource {
  readonly cloud: Site["cloud"];
  readonly bucketName: string;
  readonly region: string;
  readonly replicaBucketName: string;
  readonly replicaRegion: string;
  /** How the replica is kept: `s3-replication`, `gcs-dual-region` or `copy-job`. */
  readonly replication: string;
  /** What backup jobs write to. */
  readonly target: StorageTarget<pulumi.Input<string>>;
  /** Copy jobs this bucket relies on (second region in GCP copy mode, other cloud). */
  readonly copies: BucketCopy[] = [];

  constructor(name: string, args: ReplicatedBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drstack:storage:ReplicatedBucket", name, {}, opts);
    const { site, settings: s } = args;
    const names = bucketNames(args.networkName, site, s.bucketName);
    this.cloud = site.cloud;
    this.bucketName = names.primary;
    this.region = site.region;
    this.replicaRegion = s.replicaRegion;
    if (site.cloud === "aws") {
      this.replicaBucketName = names.replica;
      this.replication = "s3-replication";
      this.target = this.aws(name, args, names);
    } else {
      const dual = s.gcpReplication === "dual-region";
      this.replicaBucketName = dual ? names.primary : names.replica;
      this.replication = dual ? "gcs-dual-region" : "copy-job";
      this.target = this.gcp(name, args, names, dual);
    }
    if (s.crossCloud) {
      this.copies.push({
        role: "copy-cross-cloud",
        target: {
          cloud: s.crossCloud.cloud,
          bucket: s.crossCloud.bucket,
          region: s.crossCloud.region ?? "",
        },
      });
    }
    this.registerOutputs({
      bucketName: this.bucketName,
      replicaBucketName: this.replicaBucketName,
      region: this.region,
      replicaRegion: this.replicaRegion,
    });
  }

  private aws(
    name: string,
    args: ReplicatedBucketArgs,
    names: { primary: string; replica: string },
  ): StorageTarget<pulumi.Input<string>> {
    const { site, settings: s } = args;
    const im = s.immutability;
    const tags = { ...args.labels };
    const provider = new AwsProvider(
      `${name}-aws`,
      { region: site.region as never, defaultTags: { tags } },
      { parent: this },
    );
    // A replica in another account is created through a role of that account, so a credential of
    // the site's account can neither delete it nor use its key.
    const replicaProvider = im.replicaAccount
      ? new AwsProvider(
          `${name}-replica-aws`,
          {
            region: s.replicaRegion as never,
            defaultTags: { tags },
            assumeRoles: [{ roleArn: im.replicaAccount.roleArn, sessionName: "drstack-replica" }],
          },
          { parent: this },
        )
      : provider;
    const providers = { primary: provider, replica: replicaProvider };
    const regions = { primary: site.region, replica: s.replicaRegion };
    const role = new Role(
      `${name}-replication-role`,
      {
        assumeRolePolicy: JSON.stringify(S3_ASSUME_ROLE_POLICY),
        description: `S3 replication of ${names.primary}`,
      },
      { parent: this, provider },
    );
    const keys = {} as Record<"primary" | "replica", Key>;
    const buckets = {} as Record<"primary" | "replica", S3Bucket>;
    const versionings: BucketVersioning[] = [];
    const lock = s3ObjectLockRule(im);
    for (const which of ["primary", "replica"] as const) {
      const suffix = which === "primary" ? "" : "-replica";
      const region = regions[which];
      const bucketName = names[which];
      const child = { parent: this, provider: providers[which] };
      const crossAccount = which === "replica" && im.replicaAccount;
      keys[which] = new Key(
        `${name}${suffix}-key`,
        {
          region,
          description: `drstack backups of site ${site.name} (${bucketName})`,
          enableKeyRotation: true,
          deletionWindowInDays: 30,
          ...(crossAccount
            ? {
                policy: role.arn.apply((roleArn) =>
                  JSON.stringify(replicaKeyPolicy(im.replicaAccount!.accountId, roleArn, region)),
                ),
              }
            : {}),
        },
        // Losing the key loses every backup it encrypts.
        { ...child, protect: true },
      );
      const bucket = new S3Bucket(
        `${name}${suffix}-bucket`,
        { region, bucket: bucketName, forceDestroy: false, objectLockEnabled: lock !== undefined },
        { ...child, protect: true },
      );
      buckets[which] = bucket;
      const b = { region, bucket: bucket.bucket };
      const deps = { ...child, parent: bucket };
      const versioning = new BucketVersioning(
        `${name}${suffix}-versioning`,
        { ...b, versioningConfiguration: { status: "Enabled" } },
        deps,
      );
      versionings.push(versioning);
      if (lock) {
        new BucketObjectLockConfiguration(
          `${name}${suffix}-object-lock`,
          { ...b, objectLockEnabled: "Enabled", rule: lock as never },
          { ...deps, dependsOn: [versioning] },
        );
      }
      new BucketServerSideEncryptionConfiguration(
        `${name}${suffix}-sse`,
        {
          ...b,
          rules: [
            {
              applyServerSideEncryptionByDefault: {
                sseAlgorithm: "aws:kms",
                kmsMasterKeyId: keys[which].arn,
              },
              bucketKeyEnabled: true,
            },
          ],
        },
        deps,
      );
      const block = new BucketPublicAccessBlock(
        `${name}${suffix}-public-access`,
        {
          ...b,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        deps,
      );
      new BucketPolicy(
        `${name}${suffix}-tls-only`,
        {
          ...b,
          policy: crossAccount
            ? role.arn.apply((roleArn) =>
                JSON.stringify(
                  withStatements(
                    tlsOnlyBucketPolicy(bucketName),
                    replicaBucketStatements(bucketName, roleArn),
                  ),
                ),
              )
            : JSON.stringify(tlsOnlyBucketPolicy(bucketName)),
        },
        { ...deps, dependsOn: [block] },
      );
      new BucketLifecycleConfiguration(
        `${name}${suffix}-lifecycle`,
        { ...b, rules: s3LifecycleRules(s.retentionDays, s.noncurrentDays) as never },
        { ...deps, dependsOn: [versioning] },
      );
    }
    const rolePolicy = new RolePolicy(
      `${name}-replication-policy`,
      {
        role: role.name,
        policy: pulumi
          .all([keys.primary.arn, keys.replica.arn])
          .apply(([sourceKeyArn, replicaKeyArn]) =>
            JSON.stringify(
              replicationRolePolicy({
                source: names.primary,
                replica: names.replica,
                sourceRegion: regions.primary,
                replicaRegion: regions.replica,
                sourceKeyArn,
                replicaKeyArn,
                replicateDeletes: im.replicateDeletes,
                crossAccount: im.replicaAccount !== undefined,
              }),
            ),
          ),
      },
      { parent: role, provider },
    );
    new BucketReplicationConfig(
      `${name}-replication`,
      {
        region: regions.primary,
        bucket: buckets.primary.bucket,
        role: role.arn,
        rules: [
          s3ReplicationRule(names.replica, regions.replica, keys.replica.arn, {
            replicateDeletes: im.replicateDeletes,
            replicaAccountId: im.replicaAccount?.accountId,
          }) as never,
        ],
      },
      { parent: buckets.primary, provider, dependsOn: [...versionings, rolePolicy] },
    );
    return {
      cloud: "aws",
      bucket: buckets.primary.bucket,
      region: site.region,
      kmsKeyArn: keys.primary.arn,
    };
  }

  private gcp(
    name: string,
    args: ReplicatedBucketArgs,
    names: { primary: string; replica: string },
    dual: boolean,
  ): StorageTarget<pulumi.Input<string>> {
    const { site, settings: s } = args;
    const provider = new GcpProvider(
      `${name}-gcp`,
      { region: site.region, ...(s.gcpProject ? { project: s.gcpProject } : {}) },
      { parent: this },
    );
    const child = { parent: this, provider, protect: true };
    const labels = Object.fromEntries(
      Object.entries(args.labels).map(([k, v]) => [
        k.replace(/[^a-z0-9_-]/g, "_").slice(0, 63),
        v
          .toLowerCase()
          .replace(/[^a-z0-9_-]/g, "_")
          .slice(0, 63),
      ]),
    );
    const im = s.immutability;
    const softDeleteDays = im.mode === "off" ? s.retentionDays : im.days;
    const common = {
      ...gcsBucketSettings(s.retentionDays, s.noncurrentDays, s.kmsKeyName, softDeleteDays),
      labels,
      ...(s.gcpProject ? { project: s.gcpProject } : {}),
    };
    if (dual) {
      const bucket = new GcsBucket(
        `${name}-bucket`,
        {
          ...(common as object),
          name: names.primary,
          location: gcpContinent(site.region) ?? site.region.toUpperCase(),
          customPlacementConfig: {
            dataLocations: [site.region.toUpperCase(), s.replicaRegion.toUpperCase()],
          },
          rpo: "ASYNC_TURBO",
        },
        child,
      );
      return { cloud: "gcp", bucket: bucket.name, region: site.region };
    }
    const primary = new GcsBucket(
      `${name}-bucket`,
      {
        ...(common as object),
        name: names.primary,
        location: site.region.toUpperCase(),
        rpo: "DEFAULT",
      },
      child,
    );
    // A replica in another project: a credential of the site's project cannot delete it.
    const replicaChild = im.replicaProject
      ? {
          ...child,
          provider: new GcpProvider(
            `${name}-replica-gcp`,
            { region: s.replicaRegion, project: im.replicaProject },
            { parent: this },
          ),
        }
      : child;
    const replica = new GcsBucket(
      `${name}-replica-bucket`,
      {
        ...(common as object),
        name: names.replica,
        location: s.replicaRegion.toUpperCase(),
        rpo: "DEFAULT",
        ...(im.replicaProject ? { project: im.replicaProject } : {}),
      },
      replicaChild,
    );
    this.copies.push({
      role: "copy-replica",
      target: { cloud: "gcp", bucket: replica.name, region: s.replicaRegion },
    });
    return { cloud: "gcp", bucket: primary.name, region: site.region };
  }
}
