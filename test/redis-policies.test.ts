/**
 * The redis policy rules: they pass what RedisSentinel deploys (the planner's records, as the
 * analyzer would see them) and each catches the unsafe change it exists for.
 */
import { expect } from "chai";
import { loadRules } from "../policies/lib/registry";
import { runPolicies } from "../policies/lib/runner";
import { rule as minReplicas } from "../policies/rules/redis/redis-min-replicas-to-write";
import { rule as persistence } from "../policies/rules/redis/redis-persistence-on";
import { rule as oddCount } from "../policies/rules/redis/sentinel-odd-count";
import { rule as quorum } from "../policies/rules/redis/sentinel-quorum-majority";
import type { StackPlan } from "../planner/plan";
import {
  changed,
  resource,
  type ResourceSpec,
  runResourceRule,
  runStackRule,
} from "./support/policy";
import { planShipped } from "./support/project";

function specs(plan: StackPlan, filter: (type: string) => boolean = () => true): ResourceSpec[] {
  return plan.resources
    .filter((r) => filter(r.type))
    .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: structuredClone(r.inputs) }));
}
function named(all: ResourceSpec[], name: string): ResourceSpec {
  const s = all.find((x) => x.name === name);
  if (!s) throw new Error(`no ${name}`);
  return s;
}
function withConf(cm: ResourceSpec, key: string, edit: (text: string) => string): ResourceSpec {
  // Not `changed`: the key has a dot in it.
  const props = structuredClone(cm.props) as { data: Record<string, string> };
  const before = props.data[key];
  props.data[key] = edit(before);
  if (props.data[key] === before) throw new Error(`the edit did not change ${key}`);
  return { ...cm, props };
}

describe("redis policy rules", function () {
  this.timeout(120_000);
  let primary: ResourceSpec[];
  let sentinels: ResourceSpec;
  let redis: ResourceSpec;
  let redisCm: ResourceSpec;
  let sentinelCm: ResourceSpec;

  before(async () => {
    const plan = (await planShipped()).find((p) => p.stack === "primary")!;
    primary = specs(plan);
    sentinels = named(primary, "primary-redis-sentinels");
    redis = named(primary, "primary-redis-redis");
    redisCm = named(primary, "primary-redis-config");
    sentinelCm = named(primary, "primary-redis-sentinel-config");
  });

  it("are discovered by the registry and pass every shipped stack (with every other rule)", async () => {
    const rules = loadRules();
    const mine = rules.filter((r) => r.area === "redis").map((r) => r.name);
    expect(mine).to.deep.equal([
      "redis-min-replicas-to-write",
      "redis-persistence-on",
      "sentinel-odd-count",
      "sentinel-quorum-majority",
    ]);
    const report = await runPolicies(await planShipped(), rules);
    const onRedis = report.violations.filter(
      (v) => v.area === "redis" || (v.urn ?? "").includes("redis"),
    );
    expect(onRedis).to.deep.equal([]);
  });

  describe("sentinel-odd-count", () => {
    it("passes 3 and 5, rejects 1, 2, 4 naming the workload", async () => {
      for (const n of [3, 5])
        expect(
          (await runResourceRule(oddCount, changed(sentinels, "spec.replicas", n))).messages,
        ).to.deep.equal([]);
      expect(
        (await runResourceRule(oddCount, changed(sentinels, "spec.replicas", 1))).messages[0],
      ).to.match(/StatefulSet drstack-data\/redis-sentinel runs 1 sentinel; at least 3/);
      expect(
        (await runResourceRule(oddCount, changed(sentinels, "spec.replicas", 2))).messages,
      ).to.have.length(1);
      expect(
        (await runResourceRule(oddCount, changed(sentinels, "spec.replicas", 4))).messages[0],
      ).to.match(/4 sentinels, an even number.*use 5/);
    });
    it("recognizes a sentinel by its command, honours minSentinels, ignores Redis servers", async () => {
      const foreign = changed(
        changed(sentinels, "spec.template.metadata.labels", { app: "x" }),
        "spec.replicas",
        2,
      );
      expect((await runResourceRule(oddCount, foreign)).messages).to.have.length(1);
      expect(
        (await runResourceRule(oddCount, sentinels, { minSentinels: 5 })).messages[0],
      ).to.match(/at least 5/);
      expect(
        (await runResourceRule(oddCount, changed(redis, "spec.replicas", 2))).notApplicable,
      ).to.be.a("string");
    });
  });

  describe("sentinel-quorum-majority", () => {
    it("passes the deployed quorum; rejects a minority and a quorum above the count", async () => {
      expect((await runStackRule(quorum, primary)).messages).to.deep.equal([]);
      const low = withConf(sentinelCm, "sentinel.conf", (t) =>
        t.replace(/^(sentinel monitor drstack \S+ 6379) 2$/m, "$1 1"),
      );
      const r1 = await runStackRule(quorum, [...primary.filter((s) => s !== sentinelCm), low]);
      expect(r1.messages).to.deep.equal([
        "ConfigMap drstack-data/redis-sentinel-config: master drstack has quorum 1, not a majority of the 3 sentinels mounting it (needs 2)",
      ]);
      expect(r1.violations[0].urn).to.equal(sentinelCm.urn);
      const high = withConf(sentinelCm, "sentinel.conf", (t) =>
        t.replace(/^(sentinel monitor drstack \S+ 6379) 2$/m, "$1 4"),
      );
      expect(
        (await runStackRule(quorum, [...primary.filter((s) => s !== sentinelCm), high]))
          .messages[0],
      ).to.match(/quorum 4, more than the 3 sentinels/);
    });
    it("judges the quorum against the sentinels that mount the config", async () => {
      const five = changed(sentinels, "spec.replicas", 5);
      const r = await runStackRule(quorum, [...primary.filter((s) => s !== sentinels), five]);
      expect(r.messages[0]).to.match(
        /quorum 2, not a majority of the 5 sentinels mounting it \(needs 3\)/,
      );
    });
    it("is not applicable without a monitored master", async () => {
      expect(
        (
          await runStackRule(
            quorum,
            primary.filter((s) => s !== sentinelCm),
          )
        ).notApplicable,
      ).to.be.a("string");
    });
  });

  describe("redis-persistence-on", () => {
    it("passes the deployed config and StatefulSet", async () => {
      for (const s of [redisCm, redis])
        expect((await runResourceRule(persistence, s)).messages).to.deep.equal([]);
    });
    it("rejects AOF off, appendfsync no, and Redis data without a volume claim", async () => {
      const off = withConf(redisCm, "redis.conf", (t) =>
        t.replace("appendonly yes", "appendonly no"),
      );
      expect((await runResourceRule(persistence, off)).messages[0]).to.match(/appendonly is no/);
      const unset = withConf(redisCm, "redis.conf", (t) => t.replace("appendonly yes\n", ""));
      expect((await runResourceRule(persistence, unset)).messages[0]).to.match(
        /appendonly is not set/,
      );
      const lazy = withConf(redisCm, "redis.conf", (t) =>
        t.replace("appendfsync everysec", "appendfsync no"),
      );
      expect((await runResourceRule(persistence, lazy)).messages[0]).to.match(/appendfsync no/);
      const ephemeral = changed(redis, "spec.volumeClaimTemplates", undefined);
      expect((await runResourceRule(persistence, ephemeral)).messages[0]).to.match(
        /StatefulSet drstack-data\/redis keeps Redis data on no PersistentVolumeClaim/,
      );
    });
    it("reads a plain redis.conf from any ConfigMap (the last directive wins, as in Redis)", async () => {
      const cm = resource("kubernetes:core/v1:ConfigMap", "other", {
        metadata: { name: "other", namespace: "apps" },
        data: { "redis.conf": "appendonly yes\nappendonly no\n" },
      });
      expect((await runResourceRule(persistence, cm)).messages).to.have.length(1);
    });
  });

  describe("redis-min-replicas-to-write", () => {
    it("passes the deployed config; rejects 0, a missing guard and a lag above the limit", async () => {
      expect((await runResourceRule(minReplicas, redisCm)).messages).to.deep.equal([]);
      const zero = withConf(redisCm, "redis.conf", (t) =>
        t.replace("min-replicas-to-write 1", "min-replicas-to-write 0"),
      );
      expect((await runResourceRule(minReplicas, zero)).messages[0]).to.match(
        /min-replicas-to-write is 0, below 1/,
      );
      const none = withConf(redisCm, "redis.conf", (t) =>
        t.replace("min-replicas-to-write 1\n", ""),
      );
      expect((await runResourceRule(minReplicas, none)).messages[0]).to.match(/not set/);
      const slow = withConf(redisCm, "redis.conf", (t) =>
        t.replace("min-replicas-max-lag 10", "min-replicas-max-lag 120"),
      );
      expect((await runResourceRule(minReplicas, slow)).messages[0]).to.match(
        /min-replicas-max-lag is 120, outside 1..30/,
      );
      expect(
        (await runResourceRule(minReplicas, redisCm, { minReplicas: 2 })).messages,
      ).to.have.length(1);
    });
  });
});
