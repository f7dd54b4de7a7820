/**
 * Managed clusters (kubernetes.managed, components/clusters): the inputs the example network's
 * EKS and GKE sites send (zones of each node group, Secrets encryption, endpoint access, identity
 * bindings, the provider of every Kubernetes resource), validation with field paths, the
 * Kubernetes objects against their official schemas, and bring-your-own from a stack output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as fc from "fast-check";
import { parse } from "yaml";
import type { ResourceRecord } from "../planner/monitor";
import { planAll, planStack, type StackPlan } from "../planner/plan";
import { awsNetworkPlan, bucketAccessPolicy } from "../components/clusters/plan";
import { ConfigError } from "../components/topology/errors";
import { validateNetwork } from "../components/topology/validate";
import { normalizeManaged } from "../components/topology/managedCluster";
import { formatCidr, overlaps, parseCidr } from "../components/topology/cidr";
import { Problems } from "../components/topology/errors";
import { checkKubeObject } from "./support/kube-schema";
import { byType, one, projectRoot, runCli, tempFile } from "./support/project";

type Obj = Record<string, any>;

const EXAMPLE = path.join(projectRoot(), "examples", "managed-clusters.yaml");

function deps(plan: StackPlan, r: ResourceRecord, type: string): ResourceRecord[] {
  return plan.resources.filter((x) => x.type === type && r.dependencies.includes(x.urn));
}

function providerUrn(ref: string | undefined): string {
  return String(ref).split("::").slice(0, -1).join("::");
}

describe("managed clusters: the example network (examples/managed-clusters.yaml)", function () {
  this.timeout(300_000);
  let aws: StackPlan;
  let gcp: StackPlan;
  before(async () => {
    const plans = await planAll({ projectDir: projectRoot(), networkFile: EXAMPLE });
    aws = plans.find((p) => p.stack === "primary")!;
    gcp = plans.find((p) => p.stack === "dr")!;
  });

  describe("AWS: EKS", () => {
    it("one node group per zone, each in the private subnet of its zone only", () => {
      const groups = byType(aws, "aws:eks/nodeGroup:NodeGroup");
      const zones = groups.map((g) => {
        const subnets = deps(aws, g, "aws:ec2/subnet:Subnet");
        expect(subnets, g.name).to.have.length(1);
        expect((g.inputs.subnetIds as unknown[]).length).to.equal(1);
        expect(subnets[0].inputs.mapPublicIpOnLaunch).to.equal(false);
        expect(subnets[0].name).to.match(/-private-/);
        expect(g.inputs.scalingConfig).to.deep.equal({ minSize: 1, desiredSize: 2, maxSize: 4 });
        expect(g.inputs.instanceTypes).to.deep.equal(["m6i.xlarge"]);
        expect(g.ignoreChanges).to.deep.equal(["scalingConfig.desiredSize"]);
        return subnets[0].inputs.availabilityZone;
      });
      expect(zones).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
    });

    it("a NAT gateway per zone, and each private subnet routes through its own zone's NAT", () => {
      const nats = byType(aws, "aws:ec2/natGateway:NatGateway");
      expect(
        nats.map((n) => deps(aws, n, "aws:ec2/subnet:Subnet")[0].inputs.availabilityZone),
      ).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
      for (const zone of ["a", "b", "c"]) {
        const rt = one(aws, "aws:ec2/routeTable:RouteTable", `primary-cluster-private-${zone}-rt`);
        expect(deps(aws, rt, "aws:ec2/natGateway:NatGateway").map((n) => n.name)).to.deep.equal([
          `primary-cluster-nat-${zone}`,
        ]);
      }
    });

    it("Secrets are encrypted with the cluster's own KMS key, which is protected", () => {
      const cluster = one(aws, "aws:eks/cluster:Cluster", "primary-cluster-eks");
      const key = one(aws, "aws:kms/key:Key", "primary-cluster-secrets-key");
      expect(key.protect).to.equal(true);
      expect(key.inputs.enableKeyRotation).to.equal(true);
      expect(cluster.inputs.encryptionConfig).to.deep.equal({
        provider: { keyArn: key.outputs.arn },
        resources: ["secrets"],
      });
    });

    it("the API endpoint is private only, with no public CIDRs", () => {
      const cluster = one(aws, "aws:eks/cluster:Cluster", "primary-cluster-eks");
      const vpc = cluster.inputs.vpcConfig as Obj;
      expect(vpc.endpointPrivateAccess).to.equal(true);
      expect(vpc.endpointPublicAccess).to.equal(false);
      expect(vpc).to.not.have.property("publicAccessCidrs");
      expect(
        deps(aws, cluster, "aws:ec2/subnet:Subnet")
          .map((s) => s.name)
          .sort(),
      ).to.deep.equal([
        "primary-cluster-private-a",
        "primary-cluster-private-b",
        "primary-cluster-private-c",
      ]);
    });

    it("the EBS CSI driver runs with its own IRSA role", () => {
      const addon = one(aws, "aws:eks/addon:Addon", "primary-cluster-ebs-csi");
      const role = one(aws, "aws:iam/role:Role", "primary-cluster-ebs-csi-role");
      expect(addon.inputs.addonName).to.equal("aws-ebs-csi-driver");
      expect(addon.inputs.serviceAccountRoleArn).to.equal(role.outputs.arn);
      const trust = JSON.parse(String(role.inputs.assumeRolePolicy));
      const cond = trust.Statement[0].Condition.StringEquals;
      const sub = Object.keys(cond).find((k) => k.endsWith(":sub"))!;
      expect(cond[sub]).to.deep.equal(["system:serviceaccount:kube-system:ebs-csi-controller-sa"]);
    });

    it("the backup role trusts only the backup and Patroni ServiceAccounts, and reaches only the backup buckets", () => {
      const role = one(aws, "aws:iam/role:Role", "primary-cluster-backup-role");
      const oidc = one(
        aws,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "primary-cluster-oidc",
      );
      const cluster = one(aws, "aws:eks/cluster:Cluster", "primary-cluster-eks");
      const issuer = (cluster.outputs.identities as Obj[])[0].oidcs[0].issuer as string;
      expect(oidc.inputs.url).to.equal(issuer);
      const trust = JSON.parse(String(role.inputs.assumeRolePolicy));
      expect(trust.Statement).to.have.length(1);
      expect(trust.Statement[0].Principal).to.deep.equal({ Federated: oidc.outputs.arn });
      const host = issuer.replace("https://", "");
      expect(trust.Statement[0].Condition.StringEquals).to.deep.equal({
        [`${host}:aud`]: "sts.amazonaws.com",
        [`${host}:sub`]: [
          "system:serviceaccount:drstack-backup:drstack-backup",
          "system:serviceaccount:drstack-data:pg-managed-example-patroni",
        ],
      });
      const policy = one(aws, "aws:iam/rolePolicy:RolePolicy", "primary-cluster-backup-buckets");
      expect(JSON.parse(String(policy.inputs.policy))).to.deep.equal(
        bucketAccessPolicy([
          { name: "managed-example-primary-backups", region: "us-east-1" },
          { name: "managed-example-primary-backups-replica", region: "us-west-2" },
        ]),
      );
      const doc = JSON.parse(String(policy.inputs.policy));
      const s3 = doc.Statement.filter((s: Obj) =>
        s.Action.some((a: string) => a.startsWith("s3:")),
      );
      for (const s of s3)
        for (const r of s.Resource)
          expect(r).to.match(/^arn:aws:s3:::managed-example-primary-backups/);
      // The ServiceAccounts carry the role; no static key anywhere.
      const backupSa = one(aws, "kubernetes:core/v1:ServiceAccount", "primary-backup-sa");
      expect((backupSa.inputs.metadata as Obj).annotations).to.deep.equal({
        "eks.amazonaws.com/role-arn": role.outputs.arn,
      });
      const pgSa = one(aws, "kubernetes:core/v1:ServiceAccount", "primary-postgres-sa");
      expect((pgSa.inputs.metadata as Obj).annotations).to.deep.equal({
        "eks.amazonaws.com/role-arn": role.outputs.arn,
      });
    });

    it("NAT single mode: one NAT gateway that every private subnet routes through", () => {
      const net = awsNetworkPlan(
        normalizeManaged(
          { nat: "single" },
          "aws",
          ["us-east-1a", "us-east-1b"],
          "m",
          new Problems(),
        ),
        ["us-east-1a", "us-east-1b"],
      );
      expect(net).to.deep.equal({
        vpcCidr: "10.40.0.0/16",
        private: [
          { zone: "us-east-1a", cidr: "10.40.0.0/20" },
          { zone: "us-east-1b", cidr: "10.40.16.0/20" },
        ],
        public: [
          { zone: "us-east-1a", cidr: "10.40.128.0/20" },
          { zone: "us-east-1b", cidr: "10.40.144.0/20" },
        ],
        natZones: ["us-east-1a"],
      });
    });
  });

  describe("GCP: GKE", () => {
    it("a regional cluster over the site's zones with one node pool per zone", () => {
      const cluster = one(gcp, "gcp:container/cluster:Cluster", "dr-cluster-gke");
      expect(cluster.inputs.location).to.equal("europe-west1");
      expect(cluster.inputs.nodeLocations).to.deep.equal([
        "europe-west1-b",
        "europe-west1-c",
        "europe-west1-d",
      ]);
      expect(cluster.inputs.removeDefaultNodePool).to.equal(true);
      const pools = byType(gcp, "gcp:container/nodePool:NodePool");
      expect(pools.map((p) => p.inputs.nodeLocations)).to.deep.equal([
        ["europe-west1-b"],
        ["europe-west1-c"],
        ["europe-west1-d"],
      ]);
      for (const p of pools) {
        expect(p.dependencies).to.include(cluster.urn);
        expect((p.inputs.nodeConfig as Obj).machineType).to.equal("e2-standard-4");
        expect((p.inputs.nodeConfig as Obj).workloadMetadataConfig).to.deep.equal({
          mode: "GKE_METADATA",
        });
        expect(p.inputs.networkConfig).to.deep.equal({ enablePrivateNodes: true });
        expect(p.inputs.initialNodeCount).to.equal(1);
        expect(p.inputs).to.not.have.property("nodeCount");
        expect(p.inputs.autoscaling).to.deep.equal({ minNodeCount: 1, maxNodeCount: 3 });
      }
    });

    it("private nodes, and a public endpoint only for the declared CIDRs", () => {
      const cluster = one(gcp, "gcp:container/cluster:Cluster", "dr-cluster-gke");
      expect(cluster.inputs.privateClusterConfig).to.deep.equal({
        enablePrivateNodes: true,
        enablePrivateEndpoint: false,
        masterIpv4CidrBlock: "172.16.0.0/28",
      });
      expect(cluster.inputs.masterAuthorizedNetworksConfig).to.deep.equal({
        cidrBlocks: [{ cidrBlock: "203.0.113.0/24", displayName: "declared" }],
        gcpPublicCidrsAccessEnabled: false,
      });
      const nat = one(gcp, "gcp:compute/routerNat:RouterNat", "dr-cluster-nat");
      expect(nat.inputs.sourceSubnetworkIpRangesToNat).to.equal("LIST_OF_SUBNETWORKS");
    });

    it("application-layer Secrets encryption with a protected Cloud KMS key the GKE service agent may use", () => {
      const cluster = one(gcp, "gcp:container/cluster:Cluster", "dr-cluster-gke");
      const key = one(gcp, "gcp:kms/cryptoKey:CryptoKey", "dr-cluster-secrets-key");
      const grant = one(
        gcp,
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        "dr-cluster-secrets-key-gke",
      );
      const keyName = `projects/drstack-dr-example/locations/europe-west1/keyRings/managed-example-dr-gke/cryptoKeys/${key.inputs.name}`;
      expect(key.protect).to.equal(true);
      expect(cluster.inputs.databaseEncryption).to.deep.equal({ state: "ENCRYPTED", keyName });
      expect(grant.inputs).to.deep.include({
        cryptoKeyId: keyName,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member:
          "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com",
      });
      expect(cluster.dependencies).to.include(grant.urn);
    });

    it("Workload Identity binds the backup and Patroni ServiceAccounts to a service account limited to the backup bucket", () => {
      const cluster = one(gcp, "gcp:container/cluster:Cluster", "dr-cluster-gke");
      expect(cluster.inputs.workloadIdentityConfig).to.deep.equal({
        workloadPool: "drstack-dr-example.svc.id.goog",
      });
      const members = byType(gcp, "gcp:serviceaccount/iAMMember:IAMMember").map((m) => [
        m.inputs.role,
        m.inputs.member,
      ]);
      expect(members).to.deep.equal([
        [
          "roles/iam.workloadIdentityUser",
          "serviceAccount:drstack-dr-example.svc.id.goog[drstack-backup/drstack-backup]",
        ],
        [
          "roles/iam.workloadIdentityUser",
          "serviceAccount:drstack-dr-example.svc.id.goog[drstack-data/pg-managed-example-patroni]",
        ],
      ]);
      const email = "managed-example-dr-backup@drstack-dr-example.iam.gserviceaccount.com";
      const grants = byType(gcp, "gcp:storage/bucketIAMMember:BucketIAMMember");
      expect(grants.map((g) => g.inputs)).to.deep.equal([
        {
          bucket: "managed-example-dr-backups",
          role: "roles/storage.objectAdmin",
          member: `serviceAccount:${email}`,
        },
      ]);
      // Granted once the bucket exists.
      const bucket = one(gcp, "gcp:storage/bucket:Bucket", "dr-backups-bucket");
      expect(grants[0].dependencies).to.include(bucket.urn);
      for (const sa of ["dr-backup-sa", "dr-postgres-sa"])
        expect(
          (one(gcp, "kubernetes:core/v1:ServiceAccount", sa).inputs.metadata as Obj).annotations,
        ).to.deep.equal({
          "iam.gke.io/gcp-service-account": email,
        });
    });
  });

  describe("both clouds", () => {
    it("every Kubernetes resource of the site uses the provider built from the created cluster's kubeconfig (a secret)", () => {
      for (const [plan, endpoint, cmd] of [
        [aws, "eks.amazonaws.com", "aws"],
        [gcp, "https://10.0.0.", "gke-gcloud-auth-plugin"],
      ] as const) {
        const provider = one(plan, "pulumi:providers:kubernetes", `${plan.stack}-k8s`);
        expect(provider.secretInputs).to.include("kubeconfig");
        const kc = JSON.parse(String(provider.inputs.kubeconfig));
        expect(kc.clusters[0].cluster.server).to.include(endpoint);
        expect(kc.users[0].user.exec.command).to.equal(cmd);
        expect(provider.inputs).to.not.have.property("context");
        const cluster = plan.resources.find((r) =>
          /^(aws:eks|gcp:container)\/cluster:Cluster$/.test(r.type),
        )!;
        // It waits for the nodes (and, on EKS, the CSI driver).
        const pools = plan.resources.filter((r) =>
          /nodeGroup:NodeGroup|nodePool:NodePool/.test(r.type),
        );
        for (const p of pools) expect(provider.dependencies).to.include(p.urn);
        expect(cluster).to.not.equal(undefined);
        const kube = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
        expect(kube.length).to.be.greaterThan(20);
        for (const r of kube)
          expect(providerUrn(r.provider), `${r.type} ${r.name}`).to.equal(provider.urn);
      }
    });

    it("a default StorageClass binds volumes in the pod's zone (gp3 / pd-balanced)", () => {
      const aSc = one(
        aws,
        "kubernetes:storage.k8s.io/v1:StorageClass",
        "primary-storage-class",
      ).inputs;
      const gSc = one(gcp, "kubernetes:storage.k8s.io/v1:StorageClass", "dr-storage-class").inputs;
      expect(aSc).to.deep.include({
        provisioner: "ebs.csi.aws.com",
        volumeBindingMode: "WaitForFirstConsumer",
      });
      expect((aSc.parameters as Obj).type).to.equal("gp3");
      expect(gSc).to.deep.include({
        provisioner: "pd.csi.storage.gke.io",
        volumeBindingMode: "WaitForFirstConsumer",
      });
      expect((gSc.parameters as Obj).type).to.equal("pd-balanced");
      for (const sc of [aSc, gSc])
        expect((sc.metadata as Obj).annotations).to.deep.equal({
          "storageclass.kubernetes.io/is-default-class": "true",
        });
    });

    it("every Kubernetes object matches the official schema of its kind", () => {
      const problems: string[] = [];
      for (const plan of [aws, gcp])
        for (const r of plan.resources.filter(
          (x) => x.type.startsWith("kubernetes:") && x.custom,
        )) {
          const c = checkKubeObject(r.type, r.inputs);
          problems.push(
            ...[...c.problems, ...c.unchecked].map((p) => `${plan.stack} ${r.name}: ${p}`),
          );
        }
      expect(problems, problems.join("\n")).to.deep.equal([]);
    });

    it("backup and restore-verify jobs carry no static cloud keys", () => {
      const STATIC =
        /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|GOOGLE_APPLICATION_CREDENTIALS|RCLONE_.*_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SERVICE_ACCOUNT_(FILE|CREDENTIALS)))$/;
      for (const plan of [aws, gcp]) {
        const jobs = byType(plan, "kubernetes:batch/v1:CronJob");
        expect(jobs.map((j) => j.name)).to.include(`${plan.stack}-backup-verify`);
        for (const j of jobs) {
          const pod = (j.inputs.spec as Obj).jobTemplate.spec.template.spec;
          expect(pod.serviceAccountName, j.name).to.equal("drstack-backup");
          for (const c of [...(pod.initContainers ?? []), ...pod.containers])
            for (const e of c.env ?? []) expect(e.name, `${j.name} ${e.name}`).to.not.match(STATIC);
        }
        for (const s of byType(plan, "kubernetes:core/v1:Secret")) {
          const keys = Object.keys({ ...(s.inputs.stringData as Obj), ...(s.inputs.data as Obj) });
          for (const k of keys)
            expect(k, s.name).to.not.match(/access.?key|credentials\.json|secret.?access/i);
        }
      }
    });
  });
});

describe("managed clusters: drstack plan and policy on the example", function () {
  this.timeout(600_000);
  it("plan shows the cluster resources per stack; every policy rule passes", () => {
    const plan = runCli(["plan", "--all", "--network", "examples/managed-clusters.yaml"]);
    expect(plan.code, plan.stderr).to.equal(0);
    const stacks = plan.stdout.split(/^Stack /m).slice(1);
    const primary = stacks.find((s) => s.startsWith("primary"))!;
    const dr = stacks.find((s) => s.startsWith("dr"))!;
    expect(primary).to.match(/drstack:clusters:EksCluster\s+primary-cluster/);
    expect(primary).to.match(/aws:eks\/nodeGroup:NodeGroup\s+primary-cluster-nodes-c/);
    expect(dr).to.match(/drstack:clusters:GkeCluster\s+dr-cluster/);
    expect(dr).to.match(/gcp:container\/nodePool:NodePool\s+dr-cluster-pool-d/);
    const policy = runCli(["policy", "--all", "--network", "examples/managed-clusters.yaml"]);
    expect(policy.code, policy.stdout + policy.stderr).to.equal(0);
    expect(policy.stdout).to.include("passed: no mandatory violations");
  });
});

describe("managed clusters: validation with field paths", () => {
  const base = () => parse(fs.readFileSync(EXAMPLE, "utf8")) as Obj;
  function problemsOf(doc: Obj): string[] {
    try {
      validateNetwork(doc, "network.yaml");
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
      throw e;
    }
    return [];
  }

  it("the example is valid and gets the documented defaults", () => {
    const n = validateNetwork(base());
    const dr = n.sites.find((s) => s.name === "dr")!.kubernetes.managed!;
    expect(dr.version).to.equal("1.33");
    expect(dr.nodes).to.deep.equal({
      machineType: "e2-standard-4",
      minPerZone: 1,
      desiredPerZone: 1,
      maxPerZone: 3,
      diskGiB: 100,
    });
    expect(dr.networkCidr).to.equal("10.50.0.0/20");
    expect(n.sites.find((s) => s.name === "west")!.kubernetes.managed).to.equal(undefined);
  });

  it("reports every problem with its path", () => {
    const doc = base();
    const aws = doc.sites[0].kubernetes;
    aws.context = "also-a-context";
    aws.managed.nodes = { minPerZone: 3, desiredPerZone: 2, maxPerZone: 1 };
    aws.managed.endpoint = { public: true };
    aws.managed.project = "not-on-aws";
    aws.managed.networkCidr = "10.40.0.1/16";
    const gcp = doc.sites[1].kubernetes.managed;
    delete gcp.projectNumber;
    gcp.nat = "single";
    gcp.podsCidr = "10.48.0.0/12";
    gcp.versoin = "1.33";
    expect(problemsOf(doc)).to.have.members([
      "sites[0].kubernetes: managed creates the cluster; it cannot be combined with context",
      "sites[0].kubernetes.managed.project: applies to GCP sites only",
      "sites[0].kubernetes.managed.nodes: need minPerZone <= desiredPerZone <= maxPerZone, got 3 / 2 / 1",
      "sites[0].kubernetes.managed.endpoint.allowedCidrs: a public API endpoint needs the CIDRs allowed to reach it (without them it is open to 0.0.0.0/0)",
      'sites[0].kubernetes.managed.networkCidr: "10.40.0.1/16" is not a network address',
      'sites[1].kubernetes.managed.versoin: unknown key "versoin"',
      "sites[1].kubernetes.managed.nat: applies to AWS sites only",
      "sites[1].kubernetes.managed.projectNumber: is required for a managed GKE cluster",
      "sites[1].kubernetes.managed.podsCidr: overlaps networkCidr",
    ]);
  });
});

describe("managed clusters: wrong types are reported, never a crash", () => {
  it("reports each field once with its path", () => {
    const doc = parse(fs.readFileSync(EXAMPLE, "utf8")) as Obj;
    doc.sites[0].kubernetes.managed = {
      nodes: "big",
      endpoint: { public: "yes", allowedCidrs: "10.0.0.0/8" },
      networkCidr: "ten",
    };
    let problems: string[] = [];
    try {
      validateNetwork(doc, "network.yaml");
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      problems = (e as ConfigError).problems.map((p) => p.path);
    }
    expect(problems).to.have.members([
      "sites[0].kubernetes.managed.nodes",
      "sites[0].kubernetes.managed.endpoint.public",
      "sites[0].kubernetes.managed.endpoint.allowedCidrs",
      "sites[0].kubernetes.managed.networkCidr",
    ]);
  });
});

describe("managed clusters: AWS subnet layout (property)", () => {
  it("per zone one private and one public subnet, inside the VPC, pairwise disjoint, NAT per mode", () => {
    const zones = ["a", "b", "c", "d", "e", "f"].map((z) => `us-east-1${z}`);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 16, max: 22 }),
        fc.integer({ min: 2, max: 6 }),
        fc.constantFrom("per-zone", "single"),
        (octet, prefix, n, nat) => {
          const size = 2 ** (32 - prefix);
          const cidr = formatCidr({
            base: Math.floor((10 * 2 ** 24 + octet * 2 ** 16) / size) * size,
            prefix,
          });
          const problems = new Problems();
          const m = normalizeManaged(
            { networkCidr: cidr, nat },
            "aws",
            zones.slice(0, n),
            "m",
            problems,
          );
          expect(problems.list).to.deep.equal([]);
          const plan = awsNetworkPlan(m, zones.slice(0, n));
          const all = [...plan.private, ...plan.public].map((s) => parseCidr(s.cidr)!);
          expect(plan.private.map((s) => s.zone)).to.deep.equal(zones.slice(0, n));
          expect(plan.public.map((s) => s.zone)).to.deep.equal(zones.slice(0, n));
          const parent = parseCidr(plan.vpcCidr)!;
          for (const c of all) {
            expect(c.prefix).to.equal(prefix + 4);
            expect(overlaps(c, parent)).to.equal(true);
            expect(c.base >= parent.base && c.base < parent.base + 2 ** (32 - prefix)).to.equal(
              true,
            );
          }
          for (let i = 0; i < all.length; i++)
            for (let j = i + 1; j < all.length; j++)
              expect(overlaps(all[i], all[j])).to.equal(false);
          expect(plan.natZones).to.deep.equal(nat === "single" ? [zones[0]] : zones.slice(0, n));
        },
      ),
    );
  });
});

describe("bring your own: kubeconfig from another stack's output", () => {
  it("the provider reads it through a StackReference, as a secret", async () => {
    const doc = parse(fs.readFileSync(EXAMPLE, "utf8")) as Obj;
    doc.sites[2].kubernetes = { stackOutput: { stack: "infra-west", output: "kubeconfig" } };
    const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
    const plan = await planStack("west", {
      projectDir: projectRoot(),
      networkFile: tempFile("network.yaml", JSON.stringify(doc)),
      stackOutputs: new Map([["infra-west", { kubeconfig }]]),
    });
    expect(plan.stackReferences).to.deep.equal(["infra-west"]);
    const provider = one(plan, "pulumi:providers:kubernetes", "west-k8s");
    expect(provider.inputs.kubeconfig).to.equal(kubeconfig);
    expect(provider.secretInputs).to.include("kubeconfig");
    expect(plan.resources.filter((r) => /^(aws|gcp):/.test(r.type))).to.deep.equal([]);
  });
});
