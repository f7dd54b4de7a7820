/**
 * The site's NetworkPolicies, checked by what they let through, not by their shape: every
 * namespace denies by default, and the flows each service needs pass while others are refused
 * (components/network/evaluate.ts implements networking.k8s.io/v1 semantics).
 */
import { expect } from "chai";
import {
  connectionAllowed,
  type Endpoint,
  inCidr,
  type PolicyObject,
} from "../components/network/evaluate";
import type { StackPlan } from "../planner/plan";
import { rule as netRule } from "../policies/rules/kubernetes/network-default-deny";
import { changed, runStackRule, type ResourceSpec } from "./support/policy";
import { byType, planShipped, planWithConfig } from "./support/project";

type Obj = Record<string, any>;
const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

function policies(plan: StackPlan): PolicyObject[] {
  return byType(plan, NP).map((r) => ({
    namespace: String((r.inputs as Obj).metadata.namespace),
    spec: (r.inputs as Obj).spec,
  }));
}

function namespaces(plan: StackPlan): Map<string, Record<string, string>> {
  return new Map(
    byType(plan, "kubernetes:core/v1:Namespace").map((r) => {
      const m = (r.inputs as Obj).metadata;
      return [m.name, { ...m.labels, "kubernetes.io/metadata.name": m.name }];
    }),
  );
}

/** A pod of a recorded workload (its template labels) in its namespace. */
function podOf(plan: StackPlan, name: string): Endpoint {
  const w = plan.resources.find(
    (r) => r.name === name && /StatefulSet|Deployment|CronJob/.test(r.type),
  );
  expect(w, `workload ${name}`).to.not.equal(undefined);
  const i = w!.inputs as Obj;
  const template = w!.type.endsWith("CronJob") ? i.spec.jobTemplate.spec.template : i.spec.template;
  const ns = String(i.metadata.namespace);
  return {
    pod: {
      namespace: ns,
      namespaceLabels: namespaces(plan).get(ns)!,
      labels: template.metadata.labels,
    },
  };
}

function podIn(
  plan: StackPlan,
  ns: string,
  labels: Record<string, string> = { app: "other" },
): Endpoint {
  return {
    pod: {
      namespace: ns,
      namespaceLabels: namespaces(plan).get(ns) ?? { "kubernetes.io/metadata.name": ns },
      labels,
    },
  };
}

describe("network policies: default deny and the flows each service needs", () => {
  let primary: StackPlan;
  let dr: StackPlan;
  let all: StackPlan[];
  before(async () => {
    all = await planShipped();
    primary = all.find((p) => p.stack === "primary")!;
    dr = all.find((p) => p.stack === "dr")!;
  });

  it("every namespace of every stack has a default deny of ingress and egress, and DNS", () => {
    for (const plan of all) {
      const pols = policies(plan);
      for (const ns of namespaces(plan).keys()) {
        const deny = pols.find(
          (p) =>
            p.namespace === ns &&
            Object.keys(p.spec.podSelector ?? {}).length === 0 &&
            !p.spec.ingress &&
            !p.spec.egress,
        );
        expect(deny?.spec.policyTypes, `${plan.stack}/${ns}`).to.have.members([
          "Ingress",
          "Egress",
        ]);
        const dns = {
          pod: {
            namespace: "kube-system",
            namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
            labels: { "k8s-app": "kube-dns" },
          },
        };
        expect(
          connectionAllowed(pols, podIn(plan, ns), dns, 53, "UDP"),
          `${plan.stack}/${ns} DNS`,
        ).to.equal(true);
        expect(
          connectionAllowed(pols, podIn(plan, ns), { ip: "93.184.216.34" }, 80),
          `${plan.stack}/${ns} HTTP out`,
        ).to.equal(false);
      }
    }
  });

  it("no ingress rule of any stack is open to every source", () => {
    for (const plan of all)
      for (const r of byType(plan, NP))
        for (const rule of ((r.inputs as Obj).spec.ingress ?? []) as Obj[])
          expect(rule.from?.length ?? 0, `${plan.stack} ${r.name}`).to.be.greaterThan(0);
  });

  it("PostgreSQL: members replicate and reach each other's REST API; other pods reach neither", () => {
    const pols = policies(primary);
    const a = podOf(primary, "primary-postgres-patroni");
    const intruder = podIn(primary, "drstack-data");
    expect(connectionAllowed(pols, a, a, 5432)).to.equal(true);
    expect(connectionAllowed(pols, a, a, 8008)).to.equal(true);
    expect(connectionAllowed(pols, intruder, a, 8008), "REST API from any pod").to.equal(false);
    expect(connectionAllowed(pols, intruder, a, 5432), "5432 from any pod").to.equal(false);
    const client = podIn(primary, "apps", { "drstack.io/postgres-client": "true" });
    expect(connectionAllowed(pols, client, a, 5432), "labelled client").to.equal(true);
    expect(connectionAllowed(pols, client, a, 8008), "client to REST API").to.equal(false);
    const prometheus = {
      pod: {
        namespace: "monitoring",
        namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
        labels: { app: "prometheus" },
      },
    };
    expect(connectionAllowed(pols, prometheus, a, 8008), "scrape").to.equal(true);
    expect(connectionAllowed(pols, prometheus, a, 5432)).to.equal(false);
    expect(
      connectionAllowed(pols, { ip: "10.20.0.5" }, a, 5432),
      "another site's standby",
    ).to.equal(true);
    expect(connectionAllowed(pols, { ip: "203.0.113.9" }, a, 5432), "the internet").to.equal(false);
    expect(connectionAllowed(pols, a, { ip: "52.216.0.10" }, 443), "object store / API").to.equal(
      true,
    );
  });

  it("backup jobs reach pgBackRest's TLS server, Redis, the object store and the Pushgateway, and nothing else", () => {
    const pols = policies(primary);
    const job = podOf(primary, "primary-backup-pg-full");
    const pg = podOf(primary, "primary-postgres-patroni");
    const redis = podOf(primary, "primary-redis-redis");
    expect(connectionAllowed(pols, job, pg, 8432)).to.equal(true);
    expect(connectionAllowed(pols, job, pg, 5432), "SQL from backup jobs").to.equal(false);
    expect(connectionAllowed(pols, job, redis, 6379)).to.equal(true);
    expect(connectionAllowed(pols, job, { ip: "52.216.0.10" }, 443)).to.equal(true);
    const pushgateway = {
      pod: {
        namespace: "monitoring",
        namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
        labels: { app: "pushgateway" },
      },
    };
    expect(connectionAllowed(pols, job, pushgateway, 9091)).to.equal(true);
    expect(
      connectionAllowed(pols, podIn(primary, "drstack-data"), job, 8080),
      "into a job",
    ).to.equal(false);
  });

  it("Redis: sentinels watch servers, servers replicate, clients need the label", () => {
    const pols = policies(primary);
    const redis = podOf(primary, "primary-redis-redis");
    const sentinel = podOf(primary, "primary-redis-sentinels");
    expect(connectionAllowed(pols, sentinel, redis, 6379)).to.equal(true);
    expect(connectionAllowed(pols, sentinel, sentinel, 26379)).to.equal(true);
    expect(connectionAllowed(pols, redis, redis, 6379)).to.equal(true);
    expect(connectionAllowed(pols, podIn(primary, "drstack-data"), redis, 6379)).to.equal(false);
    const client = podIn(primary, "apps", { "drstack.io/redis-client": "true" });
    expect(connectionAllowed(pols, client, sentinel, 26379)).to.equal(true);
    expect(connectionAllowed(pols, client, redis, 6379)).to.equal(true);
  });

  it("validators dial their peers' P2P port (persistent_peers) and accept P2P and drstack's RPC", () => {
    const pols = policies(primary);
    const val = podOf(primary, "primary-validators-val-use1-a");
    const peer = { ip: "203.0.113.7" };
    expect(connectionAllowed(pols, val, peer, 26656), "outbound P2P").to.equal(true);
    expect(connectionAllowed(pols, peer, val, 26656), "inbound P2P").to.equal(true);
    const other = podOf(primary, "primary-validators-val-use1-b");
    expect(connectionAllowed(pols, val, other, 26656), "same-site peer").to.equal(true);
    // Nothing else leaves a validator, and RPC stays inside drstack's namespaces.
    expect(connectionAllowed(pols, val, peer, 26657)).to.equal(false);
    expect(connectionAllowed(pols, val, peer, 443)).to.equal(false);
    expect(connectionAllowed(pols, peer, val, 26657)).to.equal(false);
  });

  it("the DR site's standby reaches the primary site's endpoints across sites", () => {
    const pols = policies(dr);
    const pg = podOf(dr, "dr-postgres-patroni");
    expect(connectionAllowed(pols, pg, { ip: "10.1.2.3" }, 5432)).to.equal(true);
    const redis = podOf(dr, "dr-redis-redis");
    expect(connectionAllowed(pols, redis, { ip: "10.1.2.3" }, 6379)).to.equal(true);
  });

  it("follows drstack:networkPolicy: control-plane ranges reach the REST API, the monitoring namespace moves", async () => {
    const p = await planWithConfig("primary", {
      "drstack:networkPolicy": JSON.stringify({
        controlPlaneRanges: ["172.20.0.0/16"],
        monitoringNamespace: "obs",
      }),
    });
    const pols = policies(p);
    const pg = podOf(p, "primary-postgres-patroni");
    expect(connectionAllowed(pols, { ip: "172.20.4.4" }, pg, 8008)).to.equal(true);
    const obs = {
      pod: {
        namespace: "obs",
        namespaceLabels: { "kubernetes.io/metadata.name": "obs" },
        labels: {},
      },
    };
    expect(connectionAllowed(pols, obs, pg, 8008)).to.equal(true);
    const mon = {
      pod: {
        namespace: "monitoring",
        namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
        labels: {},
      },
    };
    expect(connectionAllowed(pols, mon, pg, 8008)).to.equal(false);
  });

  it("refuses a bad CIDR with the field path", async () => {
    let message = "";
    try {
      await planWithConfig("primary", {
        "drstack:networkPolicy": JSON.stringify({ controlPlaneRanges: ["10.0.0.0"] }),
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message)
      .to.contain("config.drstack:networkPolicy.controlPlaneRanges[0]")
      .and.contain("CIDR");
  });

  it("evaluates CIDRs exactly", () => {
    expect(inCidr("10.255.1.1", "10.0.0.0/8")).to.equal(true);
    expect(inCidr("11.0.0.1", "10.0.0.0/8")).to.equal(false);
    expect(inCidr("172.31.255.255", "172.16.0.0/12")).to.equal(true);
    expect(inCidr("172.32.0.0", "172.16.0.0/12")).to.equal(false);
    expect(inCidr("1.2.3.4", "0.0.0.0/0")).to.equal(true);
  });
});

describe("policy network-default-deny", () => {
  let specs: ResourceSpec[];
  before(async () => {
    const plan = (await planShipped()).find((p) => p.stack === "primary")!;
    specs = plan.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: structuredClone(r.inputs),
    }));
  });

  it("passes every shipped stack", async () => {
    for (const plan of await planShipped()) {
      const s = plan.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.inputs,
      }));
      const run = await runStackRule(netRule, s);
      expect(run.messages, plan.stack).to.deep.equal([]);
    }
  });

  it("fails a namespace without its default deny", async () => {
    const run = await runStackRule(
      netRule,
      specs.filter((s) => s.name !== "primary-ns-data-default-deny"),
    );
    expect(run.messages).to.deep.equal([
      "namespace drstack-data has no default-deny NetworkPolicy for ingress",
      "namespace drstack-data has no default-deny NetworkPolicy for egress",
    ]);
  });

  it("fails an ingress rule without from (the old Postgres policy), an empty peer and 0.0.0.0/0", async () => {
    for (const from of [
      undefined,
      [{}],
      [{ ipBlock: { cidr: "0.0.0.0/0" } }],
      [{ namespaceSelector: {} }],
    ]) {
      const run = await runStackRule(
        netRule,
        specs.map((s) =>
          s.name === "primary-postgres-netpol" ? changed(s, "spec.ingress[0].from", from) : s,
        ),
      );
      expect(run.messages, JSON.stringify(from)).to.deep.equal([
        "NetworkPolicy drstack-data/pg-example-network-network: ingress rule 0 admits every source",
      ]);
    }
  });
});
