/**
 * Reads buckets and their settings back from resource props (what policies see: planner records,
 * or the Pulumi analyzer's resources). Pure; works on any `{ type, props, urn }`.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export interface Res {
  readonly type: string;
  readonly urn: string;
  readonly name?: string;
  readonly props: Obj;
}

export const S3 = {
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  versioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  sseV2:
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  lifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  objectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
} as const;
export const GCS_BUCKET = "gcp:storage/bucket:Bucket";

export interface S3BucketView {
  readonly res: Res;
  readonly name: string;
  /** `region` input; undefined when the provider's default region applies. */
  readonly region?: string;
  /** Sub-resources that name this bucket. */
  readonly attached: (type: readonly string[]) => Res[];
}

/** The bucket name a resource's `bucket` prop refers to (name or ARN). */
export function bucketRef(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  return v.startsWith("arn:aws:s3:::") ? v.slice("arn:aws:s3:::".length).split("/")[0] : v;
}

export function s3Buckets(resources: readonly Res[]): S3BucketView[] {
  return resources
    .filter((r) => r.type === S3.bucket || r.type === S3.bucketV2)
    .map((r) => {
      const name = String(r.props.bucket ?? r.props.id ?? r.name ?? "");
      return {
        res: r,
        name,
        region: typeof r.props.region === "string" ? r.props.region : undefined,
        attached: (types: readonly string[]) =>
          resources.filter((x) => types.includes(x.type) && bucketRef(x.props.bucket) === name),
      };
    });
}

export function gcsBuckets(resources: readonly Res[]): Res[] {
  return resources.filter((r) => r.type === GCS_BUCKET);
}

export function gcsBucketName(r: Res): string {
  return String(r.props.name ?? r.name ?? "");
}

/** Regions a GCS bucket stores data in: dual-region placements, or its single location. */
export function gcsRegions(r: Res): string[] {
  const placement = r.props.customPlacementConfig?.dataLocations;
  if (Array.isArray(placement) && placement.length > 0)
    return [...new Set(placement.map((l: string) => String(l).toLowerCase()))];
  return [String(r.props.location ?? "").toLowerCase()];
}

/** Multi-region GCS locations replicate across regions by themselves. */
export const GCS_MULTI_REGIONS = ["us", "eu", "asia"];

/** S3 buckets that are the destination of an enabled replication rule in these resources. */
export function replicationDestinations(resources: readonly Res[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources.filter((x) => x.type === S3.replication)) {
    for (const rule of (r.props.rules ?? []) as Obj[]) {
      if (rule?.status !== "Enabled") continue;
      const b = bucketRef(rule?.destination?.bucket);
      if (b) out.add(b);
    }
  }
  return out;
}

/** Whether a (parsed) bucket policy allows anyone (`Principal: "*"`) without a condition. */
export function policyAllowsPublic(policy: unknown): boolean {
  let doc: Obj | undefined;
  try {
    doc = typeof policy === "string" ? JSON.parse(policy) : (policy as Obj);
  } catch {
    return false;
  }
  const statements = doc?.Statement
    ? Array.isArray(doc.Statement)
      ? doc.Statement
      : [doc.Statement]
    : [];
  return statements.some((s: Obj) => {
    if (s?.Effect !== "Allow" || s.Condition) return false;
    const p = s.Principal;
    return p === "*" || p?.AWS === "*" || (Array.isArray(p?.AWS) && p.AWS.includes("*"));
  });
}
