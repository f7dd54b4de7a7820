/** Internal load balancers for both AWS controllers and GKE, and the internal-load-balancer rule. */
import { expect } from "chai";
import {
  internalLoadBalancerAnnotations,
  isInternalLoadBalancer,
} from "../components/shared/loadBalancer";
import { rule } from "../policies/rules/kubernetes/internal-load-balancer";
import { changed, runStackRule, type ResourceSpec } from "./support/policy";
import { planShipped } from "./support/project";

const IN_TREE = "service.beta.kubernetes.io/aws-load-balancer-internal";
const SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme";

describe("internal load balancers", () => {
  it("are internal for the AWS in-tree controller, the AWS Load Balancer Controller and GKE", () => {
    const aws = internalLoadBalancerAnnotations("aws", "pg.example");
    expect(aws[IN_TREE]).to.equal("true");
    expect(aws[SCHEME]).to.equal("internal");
    expect(isInternalLoadBalancer(aws, undefined, "aws"), "in-tree").to.equal(true);
    expect(isInternalLoadBalancer(aws, "service.k8s.aws/nlb", "aws"), "LBC").to.equal(true);
    const gcp = internalLoadBalancerAnnotations("gcp", "pg.example");
    expect(isInternalLoadBalancer(gcp, undefined, "gcp")).to.equal(true);
    expect(isInternalLoadBalancer(gcp, undefined, "aws")).to.equal(false);
  });

  it("the scheme annotation alone (what the issue found) is internet-facing under the in-tree controller", () => {
    const only = {
      [SCHEME]: "internal",
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    };
    expect(isInternalLoadBalancer(only, undefined, "aws")).to.equal(false);
    expect(isInternalLoadBalancer(only, "service.k8s.aws/nlb", "aws")).to.equal(true);
    expect(
      isInternalLoadBalancer({ [IN_TREE]: "true", [SCHEME]: "internet-facing" }, undefined, "aws"),
    ).to.equal(false);
  });
});

describe("policy internal-load-balancer", () => {
  let primary: ResourceSpec[];
  let dr: ResourceSpec[];
  before(async () => {
    const plans = await planShipped();
    const specs = (stack: string) =>
      plans
        .find((p) => p.stack === stack)!
        .resources.map((r) => ({
          type: r.type,
          name: r.name,
          urn: r.urn,
          props: structuredClone(r.inputs),
        }));
    primary = specs("primary");
    dr = specs("dr");
  });
  const edit = (specs: ResourceSpec[], name: string, path: string, value: unknown) =>
    specs.map((s) => (s.name === name ? changed(s, path, value) : s));
  /** A copy with annotations of one resource changed (annotation keys contain dots). */
  const annotate = (specs: ResourceSpec[], name: string, set: Record<string, string | undefined>) =>
    specs.map((s) => {
      if (s.name !== name) return s;
      const props = structuredClone(s.props) as Record<string, any>;
      for (const [k, v] of Object.entries(set))
        if (v === undefined) delete props.metadata.annotations[k];
        else props.metadata.annotations[k] = v;
      return { ...s, props };
    });

  it("passes the shipped stacks and applies to them", async () => {
    for (const specs of [primary, dr]) {
      const run = await runStackRule(rule, specs);
      expect(run.notApplicable).to.equal(undefined);
      expect(run.messages).to.deep.equal([]);
    }
  });

  it("fails an AWS endpoint without the in-tree internal annotation", async () => {
    const run = await runStackRule(
      rule,
      annotate(primary, "primary-postgres-replication", { [IN_TREE]: undefined }),
    );
    expect(run.messages).to.have.length(1);
    expect(run.messages[0]).to.contain("may become an internet-facing load balancer on aws");
  });

  it("fails a GKE endpoint that is not Internal", async () => {
    const specs = annotate(dr, "dr-postgres-replication", {
      "networking.gke.io/load-balancer-type": "External",
      "cloud.google.com/load-balancer-type": undefined,
    });
    const run = await runStackRule(rule, specs);
    expect(run.messages[0]).to.contain("on gcp");
  });

  it("fails missing and open source ranges", async () => {
    const none = await runStackRule(
      rule,
      edit(primary, "primary-redis-cross-site", "spec.loadBalancerSourceRanges", []),
    );
    expect(none.messages).to.deep.equal([
      "Service drstack-data/redis-cross-site sets no loadBalancerSourceRanges: every address may connect",
    ]);
    const open = await runStackRule(
      rule,
      edit(primary, "primary-postgres-replication", "spec.loadBalancerSourceRanges", [
        "10.0.0.0/8",
        "0.0.0.0/0",
      ]),
    );
    expect(open.messages[0]).to.contain("admits 0.0.0.0/0");
  });
});
