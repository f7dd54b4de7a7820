/**
 * What RedisSentinel sends (the planner's records of the real program), the drstack:redis config
 * key's validation, and the settings' invariants.
 */
import { expect } from "chai";
import * as fc from "fast-check";
import {
  majority,
  normalizeRedisSettings,
  REDIS_DEFAULTS,
  renderRedisConfig,
  renderSentinelConfig,
} from "../components/redis";
import { confValue, sentinelMonitors } from "../components/redis/parse";
import { ConfigError, Problems } from "../components/topology/errors";
import { planAll, type StackPlan } from "../planner/plan";
import { byType, one, planShipped, planWithConfig, projectRoot } from "./support/project";

type Obj = Record<string, any>;

const STS = "kubernetes:apps/v1:StatefulSet";
const CM = "kubernetes:core/v1:ConfigMap";
const SVC = "kubernetes:core/v1:Service";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

function inputs(plan: StackPlan, type: string, name: string): Obj {
  return one(plan, type, name).inputs as Obj;
}

function envValue(env: Obj[], name: string): unknown {
  const e = env.find((x) => x.name === name);
  if (!e) throw new Error(`no env ${name}`);
  return e.value;
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("RedisSentinel in the planned stacks", function () {
  this.timeout(120_000);
  let primary: StackPlan;
  let dr: StackPlan;
  before(async () => {
    const plans = await planShipped();
    primary = plans.find((p) => p.stack === "primary")!;
    dr = plans.find((p) => p.stack === "dr")!;
  });

  it("deploys only where the site runs redis, inside the data namespace with the site's provider", async () => {
    const plans = await planShipped();
    const withRedis = plans
      .filter((p) => byType(p, "drstack:redis:RedisSentinel").length > 0)
      .map((p) => p.stack);
    expect(withRedis.sort()).to.deep.equal(["dr", "primary"]);
    const comp = one(primary, "drstack:redis:RedisSentinel", "primary-redis");
    expect(comp.parent).to.equal(one(primary, "drstack:site:DrSite", "primary").urn);
    const provider = one(primary, "pulumi:providers:kubernetes", "primary-k8s");
    const children = primary.resources.filter(
      (r) => r.parent === comp.urn && r.type.startsWith("kubernetes:"),
    );
    expect(children).to.have.length(13); // 11 objects + the Redis and Sentinel NetworkPolicies
    const lb = one(primary, "kubernetes:core/v1:Service", "primary-redis-cross-site").inputs as Obj;
    expect(lb.spec.type).to.equal("LoadBalancer");
    expect(lb.spec.selector).to.deep.equal(
      (one(primary, STS, "primary-redis-redis").inputs as Obj).spec.selector.matchLabels,
    );
    expect(lb.metadata.annotations["external-dns.alpha.kubernetes.io/hostname"]).to.equal(
      "redis-primary.drstack.internal",
    );
    expect(lb.spec.loadBalancerSourceRanges).to.deep.equal([
      "10.0.0.0/8",
      "172.16.0.0/12",
      "192.168.0.0/16",
    ]);
    for (const r of children) {
      expect(r.provider, r.urn).to.equal(`${provider.urn}::${provider.id}`);
      expect((r.inputs as Obj).metadata.namespace, r.urn).to.equal("drstack-data");
      expect(r.name.startsWith("primary-redis-"), r.name).to.equal(true);
    }
  });

  it("Redis: 1 master + 2 replicas on PVCs, AOF, spread over zones, restricted, probed", () => {
    const spec = inputs(primary, STS, "primary-redis-redis").spec;
    expect(spec.replicas).to.equal(3);
    expect(spec.serviceName).to.equal("redis-headless");
    expect(spec.volumeClaimTemplates[0].spec.resources.requests.storage).to.equal("10Gi");
    const pod = spec.template.spec;
    const redis = pod.containers[0];
    expect(redis.volumeMounts.find((m: Obj) => m.mountPath === "/data").name).to.equal("data");
    expect(pod.volumes.map((v: Obj) => v.name)).to.not.include("data"); // data comes from the claim, never an emptyDir
    expect(pod.topologySpreadConstraints[0]).to.deep.include({
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "DoNotSchedule",
      maxSkew: 1,
    });
    expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels).to.deep.equal(
      spec.selector.matchLabels,
    );
    expect(pod.securityContext).to.deep.include({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).to.deep.include({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    }
    expect(redis.readinessProbe.exec.command.join(" ")).to.contain("ping");
    expect(redis.livenessProbe).to.not.equal(undefined);
    // The password reaches the pods only through the Secret.
    expect(
      redis.env.find((e: Obj) => e.name === "REDIS_PASSWORD").valueFrom.secretKeyRef,
    ).to.deep.equal({ name: "redis-auth", key: "password" });
    expect(JSON.stringify(spec)).to.not.contain(
      primary.outputs.redis && (primary.outputs.redis as Obj).password,
    );
  });

  it("Sentinel: 3 sentinels over the zones, started from a writable copy of the rendered config", () => {
    const spec = inputs(primary, STS, "primary-redis-sentinels").spec;
    expect(spec.replicas).to.equal(3);
    const pod = spec.template.spec;
    expect(pod.topologySpreadConstraints[0].topologyKey).to.equal("topology.kubernetes.io/zone");
    const init = pod.initContainers[0];
    expect(init.command).to.deep.equal(["sh", "/config/sentinel-init.sh"]);
    expect(init.volumeMounts).to.deep.include({ name: "run", mountPath: "/run/redis" });
    expect(pod.containers[0].command).to.deep.equal(["redis-sentinel", "/run/redis/sentinel.conf"]);
    expect(pod.volumes.find((v: Obj) => v.name === "run").emptyDir).to.not.equal(undefined);
  });

  it("ConfigMaps carry exactly what the renderers produce, for pod 0 as the initial master", () => {
    const settings = normalizeRedisSettings(undefined, new Problems());
    const redisConf = inputs(primary, CM, "primary-redis-config").data["redis.conf"];
    expect(redisConf).to.equal(
      renderRedisConfig(settings, { bind: "0.0.0.0", port: 6379, dataDir: "/data" }),
    );
    const sentinelConf = inputs(primary, CM, "primary-redis-sentinel-config").data["sentinel.conf"];
    expect(sentinelConf).to.equal(
      renderSentinelConfig(settings, {
        bind: "0.0.0.0",
        port: 26379,
        dataDir: "/run/redis",
        hostnames: true,
        master: { host: "redis-0.redis-headless.drstack-data.svc.cluster.local", port: 6379 },
      }),
    );
    expect(confValue(redisConf, "requirepass")).to.equal(undefined); // never in a ConfigMap
  });

  it("services: headless for Redis and the sentinels (DNS before readiness), ClusterIP for discovery", () => {
    const h = inputs(primary, SVC, "primary-redis-headless");
    expect(h.spec).to.deep.include({ clusterIP: "None", publishNotReadyAddresses: true });
    expect(h.spec.ports[0].port).to.equal(6379);
    const s = inputs(primary, SVC, "primary-redis-sentinel");
    expect(s.metadata.name).to.equal("redis-sentinel");
    expect(s.spec.clusterIP).to.equal(undefined);
    expect(s.spec.ports[0].port).to.equal(26379);
    expect(inputs(primary, SVC, "primary-redis-sentinel-headless").spec.clusterIP).to.equal("None");
  });

  it("PodDisruptionBudgets: one Redis pod at a time, a sentinel majority always up", () => {
    expect(inputs(primary, PDB, "primary-redis-redis-pdb").spec).to.deep.include({
      maxUnavailable: 1,
    });
    const s = inputs(primary, PDB, "primary-redis-sentinel-pdb").spec;
    expect(s.minAvailable).to.equal(2);
    expect(s.selector.matchLabels).to.deep.equal(
      inputs(primary, STS, "primary-redis-sentinels").spec.selector.matchLabels,
    );
  });

  it("the password comes from @pulumi/random, sits in a Secret as a secret, and is a secret output", () => {
    const pw = one(primary, "random:index/randomPassword:RandomPassword", "primary-redis-password");
    expect(pw.inputs).to.include({ length: 32, special: false });
    const secret = one(primary, "kubernetes:core/v1:Secret", "primary-redis-auth");
    expect(secret.secretInputs).to.include("stringData");
    expect((secret.inputs as Obj).stringData.password).to.equal(pw.outputs.result);
    const facts = primary.outputs.redis as Obj;
    expect(facts).to.deep.include({
      masterName: "drstack",
      mode: "primary",
      sentinel: "redis-sentinel.drstack-data.svc.cluster.local:26379",
      password: pw.outputs.result,
    });
  });

  it("the standby dr site replicates the primary: no own password or monitored master, primary's password", () => {
    expect(dr.stackReferences).to.include("primary");
    expect(
      byType(dr, "random:index/randomPassword:RandomPassword").filter((r) =>
        r.name.includes("redis"),
      ),
    ).to.deep.equal([]);
    const env = inputs(dr, STS, "dr-redis-redis").spec.template.spec.initContainers[0].env as Obj[];
    expect(envValue(env, "MODE")).to.equal("replica");
    // The standby follows the endpoint the primary publishes (its internal load balancer's DNS name).
    const published = (primary.outputs.redis as Obj).crossSiteEndpoint;
    expect(published).to.deep.equal({ host: "redis-primary.drstack.internal", port: 6379 });
    expect(envValue(env, "UPSTREAM_HOST")).to.equal(published.host);
    expect(envValue(env, "UPSTREAM_PORT")).to.equal(String(published.port));
    expect(
      sentinelMonitors(inputs(dr, CM, "dr-redis-sentinel-config").data["sentinel.conf"]),
    ).to.deep.equal([]);
    expect(
      (one(dr, "kubernetes:core/v1:Secret", "dr-redis-auth").inputs as Obj).stringData.password,
    ).to.equal((primary.outputs.redis as Obj).password);
    expect((dr.outputs.redis as Obj).mode).to.equal("replica");
  });

  it("reads the primary's cross-site endpoint through the StackReference", async () => {
    const endpoint = { host: "redis.use1.example.net", port: 16379 };
    const plans = await planAll({
      projectDir: projectRoot(),
      stacks: ["primary", "dr"],
      configOverrides: { "drstack:redis": JSON.stringify({ endpoint }) },
    });
    const p = plans.find((x) => x.stack === "primary")!;
    const d = plans.find((x) => x.stack === "dr")!;
    expect((p.outputs.redis as Obj).crossSiteEndpoint).to.deep.equal(endpoint);
    const env = inputs(d, STS, "dr-redis-redis").spec.template.spec.initContainers[0].env as Obj[];
    expect(envValue(env, "UPSTREAM_HOST")).to.equal(endpoint.host);
    expect(envValue(env, "UPSTREAM_PORT")).to.equal("16379");
  });

  it("an independent standby has its own password and monitors its own master", async () => {
    const plans = await planAll({
      projectDir: projectRoot(),
      stacks: ["primary", "dr"],
      configOverrides: {
        "drstack:redis": JSON.stringify({ standby: { mode: "independent" }, sentinels: 5 }),
      },
    });
    const d = plans.find((x) => x.stack === "dr")!;
    expect(
      byType(d, "pulumi:pulumi:StackReference").filter((r) => r.name.includes("redis")),
    ).to.deep.equal([]);
    one(d, "random:index/randomPassword:RandomPassword", "dr-redis-password");
    const m = sentinelMonitors(inputs(d, CM, "dr-redis-sentinel-config").data["sentinel.conf"])[0]!;
    expect(m).to.include({
      masterName: "drstack",
      quorum: 3,
      host: "redis-0.redis-headless.drstack-data.svc.cluster.local",
    });
    expect(inputs(d, STS, "dr-redis-sentinels").spec.replicas).to.equal(5);
    expect(inputs(d, PDB, "dr-redis-sentinel-pdb").spec.minAvailable).to.equal(3);
  });

  it("settings flow into what is sent: image, storage, resources, timings", async () => {
    const p = await planWithConfig("primary", {
      "drstack:redis": JSON.stringify({
        image: "registry.example/redis:7.2",
        storage: { size: "50Gi", storageClass: "ssd" },
        resources: { redis: { memory: "2Gi" } },
        downAfterMilliseconds: 3000,
        replicas: 4,
      }),
    });
    const spec = inputs(p, STS, "primary-redis-redis").spec;
    expect(spec.replicas).to.equal(5);
    expect(spec.template.spec.containers[0].image).to.equal("registry.example/redis:7.2");
    expect(spec.template.spec.containers[0].resources).to.deep.equal({
      requests: { cpu: "250m", memory: "2Gi" },
      limits: { memory: "2Gi" },
    });
    expect(spec.volumeClaimTemplates[0].spec).to.deep.include({
      storageClassName: "ssd",
      resources: { requests: { storage: "50Gi" } },
    });
    const m = sentinelMonitors(
      inputs(p, CM, "primary-redis-sentinel-config").data["sentinel.conf"],
    )[0]!;
    expect(m.options["down-after-milliseconds"]).to.equal("3000");
  });
});

describe("drstack:redis validation", function () {
  this.timeout(60_000);

  it("rejects unsafe settings before any resource, every problem with its field path", async () => {
    const e = await configError(
      planWithConfig("primary", {
        "drstack:redis": JSON.stringify({
          sentinels: 4,
          quorum: 1,
          replicas: 1,
          minReplicasToWrite: 0,
          appendfsync: "no",
        }),
      }),
    );
    const byPath = Object.fromEntries(e.problems.map((p) => [p.path, p.message]));
    expect(byPath["config.drstack:redis.sentinels"]).to.match(/must be odd, got 4/);
    expect(byPath["config.drstack:redis.quorum"]).to.match(
      /must be a majority of the 4 sentinels \(at least 3\), got 1/,
    );
    expect(byPath["config.drstack:redis.replicas"]).to.match(/at least 2 replicas/);
    expect(byPath["config.drstack:redis.minReplicasToWrite"]).to.match(/at least 1/);
    expect(byPath["config.drstack:redis.appendfsync"]).to.match(/"no"/);
    expect(e.problems.every((p) => p.fix)).to.equal(true);
  });

  it("catches typos and wrong types with the shape checker", async () => {
    const e = await configError(
      planWithConfig("primary", {
        "drstack:redis": JSON.stringify({
          sentinal: 3,
          standby: { mode: "replicate" },
          storage: { size: "lots" },
        }),
      }),
    );
    const text = e.message;
    expect(text).to.contain(
      'config.drstack:redis.sentinal: unknown key "sentinal" (fix: did you mean "sentinels"?)',
    );
    expect(text).to.contain("config.drstack:redis.standby.mode");
    expect(text).to.contain("config.drstack:redis.storage.size");
  });

  it("defaults are safe and fast: 3 sentinels, quorum 2, AOF everysec, guard 1 replica / 10s", () => {
    const problems = new Problems();
    const s = normalizeRedisSettings(undefined, problems);
    expect(problems.list).to.deep.equal([]);
    expect(s).to.deep.include({ ...REDIS_DEFAULTS, quorum: 2 });
    expect(s.downAfterMilliseconds).to.be.at.most(5000);
  });

  it("quorum: every majority up to the sentinel count is accepted, anything else rejected (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }).map((k) => 2 * k + 1),
        fc.integer({ min: 1, max: 15 }),
        (sentinels, quorum) => {
          const problems = new Problems();
          normalizeRedisSettings({ sentinels, quorum }, problems);
          const ok = quorum >= majority(sentinels) && quorum <= sentinels;
          expect(problems.list.length === 0, `${quorum} of ${sentinels}`).to.equal(ok);
          if (!ok) expect(problems.list[0].path).to.equal("config.drstack:redis.quorum");
        },
      ),
    );
  });

  it("the quorum defaults to the majority of any odd sentinel count", () => {
    for (const n of [3, 5, 7, 9])
      expect(normalizeRedisSettings({ sentinels: n }, new Problems()).quorum).to.equal(
        Math.floor(n / 2) + 1,
      );
  });
});
