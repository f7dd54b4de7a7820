/**
 * The managed-cluster policy rules: each passes the example's EKS and GKE stacks and fails the
 * mutated settings it exists for (zones, endpoint, Secrets encryption, public node IPs).
 */
import * as path from "node:path";
import { expect } from "chai";
import { rule as endpointRule } from "../policies/rules/clusters/cluster-endpoint-restricted";
import { rule as nodesRule } from "../policies/rules/clusters/cluster-nodes-private";
import { rule as secretsRule } from "../policies/rules/clusters/cluster-secrets-encrypted";
import { rule as zonesRule } from "../policies/rules/clusters/cluster-zone-spread";
import { planAll, type StackPlan } from "../planner/plan";
import { changed, runStackRule, type ResourceSpec } from "./support/policy";
import { planShipped, projectRoot } from "./support/project";

const RULES = [zonesRule, endpointRule, secretsRule, nodesRule];

function specsOf(plan: StackPlan): ResourceSpec[] {
  return plan.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: structuredClone(Object.keys(r.outputs ?? {}).length ? r.outputs : r.inputs),
    dependencies: r.dependencies,
  }));
}

function edit(specs: ResourceSpec[], name: string, p: string, value: unknown): ResourceSpec[] {
  expect(
    specs.some((s) => s.name === name),
    `resource ${name}`,
  ).to.equal(true);
  return specs.map((s) => (s.name === name ? changed(s, p, value) : s));
}

describe("policy: managed clusters", function () {
  this.timeout(300_000);
  let eks: ResourceSpec[];
  let gke: ResourceSpec[];
  let shipped: ResourceSpec[];
  before(async () => {
    const plans = await planAll({
      projectDir: projectRoot(),
      networkFile: path.join(projectRoot(), "examples", "managed-clusters.yaml"),
    });
    eks = specsOf(plans.find((p) => p.stack === "primary")!);
    gke = specsOf(plans.find((p) => p.stack === "dr")!);
    shipped = specsOf((await planShipped()).find((p) => p.stack === "primary")!);
  });

  it("every rule passes the example's EKS and GKE stacks, and does not apply to bring-your-own", async () => {
    for (const rule of RULES) {
      for (const specs of [eks, gke]) {
        const run = await runStackRule(rule, specs);
        expect(run.notApplicable, rule.name).to.equal(undefined);
        expect(run.messages, rule.name).to.deep.equal([]);
      }
      expect((await runStackRule(rule, shipped)).notApplicable, rule.name).to.not.equal(undefined);
    }
  });

  describe("cluster-zone-spread", () => {
    it("fails EKS node groups that all sit in one zone", async () => {
      const oneZone = ["b", "c"].reduce(
        (s, z) => edit(s, `primary-cluster-private-${z}`, "availabilityZone", "us-east-1a"),
        eks,
      );
      expect((await runStackRule(zonesRule, oneZone)).messages).to.deep.equal([
        "cluster managed-example-primary has nodes in only us-east-1a: losing that zone loses every node",
      ]);
      const noGroups = eks.filter((s) => s.type !== "aws:eks/nodeGroup:NodeGroup");
      expect((await runStackRule(zonesRule, noGroups)).messages).to.deep.equal([
        "cluster managed-example-primary has nodes in no zone: losing that zone loses every node",
      ]);
    });

    it("fails GKE node pools in one zone", async () => {
      const pools = gke
        .filter((s) => s.type === "gcp:container/nodePool:NodePool")
        .map((s) => s.name);
      const oneZone = pools.reduce((s, n) => edit(s, n, "nodeLocations", ["europe-west1-b"]), gke);
      expect((await runStackRule(zonesRule, oneZone)).messages).to.deep.equal([
        "cluster managed-example-dr has nodes in only europe-west1-b: losing that zone loses every node",
      ]);
    });
  });

  describe("cluster-endpoint-restricted", () => {
    it("fails an EKS public endpoint without CIDRs or open to 0.0.0.0/0", async () => {
      const pub = edit(eks, "primary-cluster-eks", "vpcConfig.endpointPublicAccess", true);
      expect((await runStackRule(endpointRule, pub)).messages).to.deep.equal([
        "cluster managed-example-primary: its public endpoint has no publicAccessCidrs (EKS then allows 0.0.0.0/0)",
      ]);
      const open = edit(pub, "primary-cluster-eks", "vpcConfig.publicAccessCidrs", [
        "10.0.0.0/8",
        "0.0.0.0/0",
      ]);
      expect((await runStackRule(endpointRule, open)).messages).to.deep.equal([
        "cluster managed-example-primary: its public endpoint allows 0.0.0.0/0",
      ]);
      const declared = edit(pub, "primary-cluster-eks", "vpcConfig.publicAccessCidrs", [
        "203.0.113.0/24",
      ]);
      expect((await runStackRule(endpointRule, declared)).messages).to.deep.equal([]);
    });

    it("fails a GKE public endpoint open to 0.0.0.0/0 or without authorized networks", async () => {
      const open = edit(
        gke,
        "dr-cluster-gke",
        "masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock",
        "0.0.0.0/0",
      );
      expect((await runStackRule(endpointRule, open)).messages).to.deep.equal([
        "cluster managed-example-dr: its public endpoint allows 0.0.0.0/0",
      ]);
      const none = edit(gke, "dr-cluster-gke", "masterAuthorizedNetworksConfig", undefined);
      expect((await runStackRule(endpointRule, none)).messages).to.deep.equal([
        "cluster managed-example-dr: its public endpoint has no masterAuthorizedNetworksConfig (open to any address)",
      ]);
      const priv = edit(none, "dr-cluster-gke", "privateClusterConfig.enablePrivateEndpoint", true);
      expect((await runStackRule(endpointRule, priv)).messages).to.deep.equal([]);
    });
  });

  describe("cluster-secrets-encrypted", () => {
    it("fails EKS without a KMS key for Secrets", async () => {
      expect(
        (
          await runStackRule(
            secretsRule,
            edit(eks, "primary-cluster-eks", "encryptionConfig", undefined),
          )
        ).messages,
      ).to.deep.equal([
        "cluster managed-example-primary has no encryptionConfig: Secrets are not encrypted with a customer key",
      ]);
      expect(
        (
          await runStackRule(
            secretsRule,
            edit(eks, "primary-cluster-eks", "encryptionConfig.resources", []),
          )
        ).messages,
      ).to.deep.equal([
        "cluster managed-example-primary does not encrypt the secrets resource: Secrets are not encrypted with a customer key",
      ]);
    });

    it("fails GKE without application-layer Secrets encryption", async () => {
      const off = edit(gke, "dr-cluster-gke", "databaseEncryption.state", "DECRYPTED");
      expect((await runStackRule(secretsRule, off)).messages).to.deep.equal([
        "cluster managed-example-dr does not set databaseEncryption.state ENCRYPTED: Secrets are not encrypted with a customer key",
      ]);
      const noKey = edit(gke, "dr-cluster-gke", "databaseEncryption.keyName", undefined);
      expect((await runStackRule(secretsRule, noKey)).messages).to.deep.equal([
        "cluster managed-example-dr has no Cloud KMS key (databaseEncryption.keyName): Secrets are not encrypted with a customer key",
      ]);
    });
  });

  describe("cluster-nodes-private", () => {
    it("fails an EKS node group in a subnet that gives public IPs or routes to the internet gateway", async () => {
      const mapPublic = edit(eks, "primary-cluster-private-b", "mapPublicIpOnLaunch", true);
      expect((await runStackRule(nodesRule, mapPublic)).messages).to.deep.equal([
        "cluster managed-example-primary: primary-cluster-nodes-b subnet primary-cluster-private-b maps public IPs on launch",
      ]);
      const igw = edit(eks, "primary-cluster-private-c-rt", "routes[0]", {
        cidrBlock: "0.0.0.0/0",
        gatewayId: "igw-1",
      });
      expect((await runStackRule(nodesRule, igw)).messages).to.deep.equal([
        "cluster managed-example-primary: primary-cluster-nodes-c subnet primary-cluster-private-c routes 0.0.0.0/0 to an internet gateway (a public subnet)",
      ]);
    });

    it("fails GKE node pools with public IPs", async () => {
      const pub = edit(gke, "dr-cluster-pool-c", "networkConfig.enablePrivateNodes", false);
      expect((await runStackRule(nodesRule, pub)).messages).to.deep.equal([
        "cluster managed-example-dr: dr-cluster-pool-c its nodes get public IPs (enablePrivateNodes is not true)",
      ]);
      let clusterPublic = edit(
        gke,
        "dr-cluster-gke",
        "privateClusterConfig.enablePrivateNodes",
        false,
      );
      for (const p of ["b", "c", "d"])
        clusterPublic = edit(clusterPublic, `dr-cluster-pool-${p}`, "networkConfig", undefined);
      expect((await runStackRule(nodesRule, clusterPublic)).messages).to.have.length(3);
    });
  });
});
